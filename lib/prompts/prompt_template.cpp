// Prompt files and placeholder filling; the file format is described in
// lib/prompts/README.md.
#include "lib/prompts/prompt_template.hpp"

#include <filesystem>
#include <optional>
#include <vector>

#include "lib/prompts/embedded.hpp"
#include "lib/util/file_io.hpp"

namespace pipeline::prompts {
namespace {

constexpr std::string_view k_system_header = "### system";
constexpr std::string_view k_user_header = "### user";
constexpr std::string_view k_request_header = "### request";
constexpr std::string_view k_extension = ".prompt";

using util::ErrorKind;
using util::fail;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

// One piece of a template: literal text, or a placeholder's name.
struct Piece {
  std::string_view text;
  bool placeholder = false;
};

// Splits a template into literal text and placeholders; a `{{` without its
// `}}` or with something other than a name inside is an error.
util::Expected<std::vector<Piece>> split_placeholders(std::string_view text) {
  std::vector<Piece> pieces;
  size_t position = 0;
  while (position < text.size()) {
    size_t open = text.find("{{", position);
    if (open == std::string_view::npos) {
      pieces.push_back({text.substr(position), false});
      break;
    }
    if (open > position) pieces.push_back({text.substr(position, open - position), false});
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return fail(ErrorKind::bad_input, "unclosed placeholder: \"" + std::string(text.substr(open, 40)) + "\"");
    }
    std::string_view name = trim_spaces(text.substr(open + 2, close - open - 2));
    bool valid = !name.empty();
    for (char c : name) valid = valid && is_name_char(c);
    if (!valid) {
      return fail(ErrorKind::bad_input,
                  "malformed placeholder \"" + std::string(text.substr(open, close + 2 - open)) +
                      "\": a placeholder is {{name}} with letters, digits and _");
    }
    pieces.push_back({name, true});
    position = close + 2;
  }
  return pieces;
}

// A part without its leading blank lines and trailing whitespace.
std::string trim_part(std::string_view part) {
  while (true) {
    size_t end_of_line = part.find('\n');
    if (end_of_line == std::string_view::npos) break;
    if (!trim_spaces(part.substr(0, end_of_line)).empty()) break;
    part.remove_prefix(end_of_line + 1);
  }
  while (!part.empty() && (part.back() == ' ' || part.back() == '\t' || part.back() == '\n' || part.back() == '\r')) {
    part.remove_suffix(1);
  }
  return std::string(part);
}

const EmbeddedFile* find_embedded(std::string_view file_name) {
  for (const auto& file : embedded_prompt_files()) {
    if (file.name == file_name) return &file;
  }
  return nullptr;
}

}  // namespace

util::Expected<PromptTemplate> parse_prompt(std::string_view text, const std::string& source) {
  std::optional<std::string> system;
  std::optional<std::string> user;
  std::optional<std::string> request;
  std::string* current = nullptr;
  std::string buffer;
  std::string_view rest = text;
  int line_number = 0;
  while (!rest.empty()) {
    size_t end_of_line = rest.find('\n');
    std::string_view line = rest.substr(0, end_of_line);
    rest = end_of_line == std::string_view::npos ? std::string_view{} : rest.substr(end_of_line + 1);
    ++line_number;
    std::string_view stripped = trim_spaces(line);
    if (stripped == k_request_header) {
      if (request) return fail(ErrorKind::bad_input, source + ":" + std::to_string(line_number) + ": a second \"### request\" section");
      if (system && !user) return fail(ErrorKind::bad_input, source + ":" + std::to_string(line_number) + ": \"### request\" comes before \"### user\"");
      if (current) *current = trim_part(buffer);
      buffer.clear();
      request.emplace();
      current = &*request;
      continue;
    }
    if (stripped == k_system_header || stripped == k_user_header) {
      bool is_system = stripped == k_system_header;
      if (is_system && system) return fail(ErrorKind::bad_input, source + ":" + std::to_string(line_number) + ": a second \"### system\" section");
      if (request) return fail(ErrorKind::bad_input, source + ":" + std::to_string(line_number) + ": \"" + std::string(stripped) + "\" comes after \"### request\"");
      if (!is_system && user) return fail(ErrorKind::bad_input, source + ":" + std::to_string(line_number) + ": a second \"### user\" section");
      if (!is_system && !system) {
        return fail(ErrorKind::bad_input, source + ":" + std::to_string(line_number) + ": \"### user\" comes before \"### system\"");
      }
      if (current) *current = trim_part(buffer);
      buffer.clear();
      if (is_system) {
        system.emplace();
        current = &*system;
      } else {
        user.emplace();
        current = &*user;
      }
      continue;
    }
    if (current) {
      buffer.append(line.data(), line.size());
      if (!buffer.empty() && buffer.back() == '\r') buffer.pop_back();
      buffer.push_back('\n');
    }
  }
  if (current) *current = trim_part(buffer);
  // A request-only prompt: sent after the system and user parts of another prompt of its stage.
  if (!system && !user && request) {
    if (request->empty()) return fail(ErrorKind::bad_input, source + ": the request section is empty");
    auto pieces = split_placeholders(*request);
    if (!pieces) return fail(ErrorKind::bad_input, source + ": " + pieces.error().message);
    return PromptTemplate{{}, {}, source, std::move(*request)};
  }
  if (!system) return fail(ErrorKind::bad_input, source + ": no \"### system\" line; a prompt file has a system and a user section");
  if (!user) return fail(ErrorKind::bad_input, source + ": no \"### user\" line; a prompt file has a system and a user section");
  if (system->empty()) return fail(ErrorKind::bad_input, source + ": the system section is empty");
  if (user->empty()) return fail(ErrorKind::bad_input, source + ": the user section is empty");
  if (request && request->empty()) return fail(ErrorKind::bad_input, source + ": the request section is empty");
  for (const std::string* part : {&*system, &*user, request ? &*request : &*user}) {
    auto pieces = split_placeholders(*part);
    if (!pieces) return fail(ErrorKind::bad_input, source + ": " + pieces.error().message);
  }
  return PromptTemplate{std::move(*system), std::move(*user), source, request.value_or(std::string())};
}

std::string format_prompt(const PromptTemplate& prompt) {
  if (prompt.system.empty() && prompt.user.empty()) return std::string(k_request_header) + "\n" + prompt.request + "\n";
  std::string text = std::string(k_system_header) + "\n" + prompt.system + "\n\n" + std::string(k_user_header) + "\n" + prompt.user + "\n";
  if (!prompt.request.empty()) text += "\n" + std::string(k_request_header) + "\n" + prompt.request + "\n";
  return text;
}

util::Expected<PromptTemplate> load_prompt(std::string_view stage_name, const std::string& override_dir) {
  const std::string file_name = std::string(stage_name) + std::string(k_extension);
  if (!override_dir.empty()) {
    const std::filesystem::path path = std::filesystem::path(override_dir) / file_name;
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      auto text = util::read_file(path);
      if (!text) return text.error();
      return parse_prompt(*text, path.string());
    }
  }
  const EmbeddedFile* embedded = find_embedded(file_name);
  if (!embedded) return fail(ErrorKind::bad_input, "there is no built-in prompt named " + file_name);
  auto prompt = parse_prompt(embedded->content, "built-in " + file_name);
  if (!prompt) return prompt.error();
  prompt->source = "built-in";
  return prompt;
}

util::Expected<std::string> fill(std::string_view text, const std::map<std::string, std::string>& variables) {
  auto pieces = split_placeholders(text);
  if (!pieces) return pieces.error();
  std::string out;
  out.reserve(text.size());
  for (const Piece& piece : *pieces) {
    if (!piece.placeholder) {
      out.append(piece.text);
      continue;
    }
    auto found = variables.find(std::string(piece.text));
    if (found == variables.end()) {
      std::string known;
      for (const auto& [name, value] : variables) known += (known.empty() ? "" : ", ") + name;
      return fail(ErrorKind::bad_input, "unknown prompt placeholder {{" + std::string(piece.text) + "}}" +
                                            (known.empty() ? std::string(" (this prompt takes none)") : "; known here: " + known));
    }
    out.append(found->second);
  }
  return out;
}

util::Expected<void> check_prompt_dir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return fail(ErrorKind::bad_input, "prompt directory " + dir + " does not exist");
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto& path = entry.path();
    if (path.extension() != k_extension) continue;
    if (!find_embedded(path.filename().string())) {
      std::string names;
      for (const auto& file : embedded_prompt_files()) names += (names.empty() ? "" : ", ") + std::string(file.name);
      return fail(ErrorKind::bad_input, path.string() + " does not override any prompt; prompt files are " + names);
    }
    auto text = util::read_file(path);
    if (!text) return text.error();
    auto prompt = parse_prompt(*text, path.string());
    if (!prompt) return prompt.error();
  }
  if (ec) return fail(ErrorKind::bad_input, "cannot list prompt directory " + dir + ": " + ec.message());
  return {};
}

}  // namespace pipeline::prompts
