// Writes a small PDF whose one content stream inflates to many megabytes: the
// hostile input that --max-text-mb is for.
//
// Usage: make-bomb-pdf <output.pdf> <inflated-MB> [text|drawing|blank] [pages]
//
//   text     the stream shows line after line of 100 characters (default)
//   drawing  the stream strokes short lines and shows no text
//   blank    the stream is spaces and nothing else
//
// With `pages` (default 1) every page shows the same stream, so the file
// stays small while the work grows with the page count. The stream is
// deflated as it is written, so neither this tool nor its output holds the
// inflated bytes at once.

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// One repeated unit of the content stream for each kind of bomb.
std::string content_unit(const std::string& kind) {
  if (kind == "drawing") return "10 10 m 20 20 l S\n";
  if (kind == "blank") return std::string(100, ' ') + "\n";
  std::string line;
  for (int i = 0; i < 100; ++i) line += static_cast<char>('a' + i % 26);
  return "BT /F1 1 Tf 20 20 Td (" + line + ") Tj ET\n";
}

// The deflated content stream: `unit` repeated until `inflated` bytes.
std::vector<unsigned char> deflated_stream(const std::string& unit, std::uint64_t inflated) {
  z_stream z{};
  deflateInit(&z, Z_BEST_COMPRESSION);
  std::vector<unsigned char> out;
  std::string block;
  while (block.size() < (1u << 20)) block += unit;
  unsigned char buffer[1 << 16];
  std::uint64_t written = 0;
  int flush = Z_NO_FLUSH;
  do {
    std::size_t take = 0;
    if (written < inflated) {
      take = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), inflated - written));
      written += take;
    }
    flush = written >= inflated ? Z_FINISH : Z_NO_FLUSH;
    z.next_in = reinterpret_cast<Bytef*>(block.data());
    z.avail_in = static_cast<uInt>(take);
    do {
      z.next_out = buffer;
      z.avail_out = sizeof buffer;
      deflate(&z, flush);
      out.insert(out.end(), buffer, buffer + (sizeof buffer - z.avail_out));
    } while (z.avail_out == 0);
  } while (flush != Z_FINISH);
  deflateEnd(&z);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: make-bomb-pdf <output.pdf> <inflated-MB> [text|drawing|blank] [pages]\n");
    return 2;
  }
  const double megabytes = std::atof(argv[2]);
  const std::string kind = argc >= 4 ? argv[3] : "text";
  const int pages = argc == 5 ? std::atoi(argv[4]) : 1;
  if (megabytes <= 0 || pages < 1 || (kind != "text" && kind != "drawing" && kind != "blank")) {
    std::fprintf(stderr, "make-bomb-pdf: inflated-MB and pages must be positive, the kind text, drawing or blank\n");
    return 2;
  }
  const auto stream = deflated_stream(content_unit(kind), static_cast<std::uint64_t>(megabytes * 1024 * 1024));

  std::string pdf = "%PDF-1.7\n";
  std::vector<std::size_t> offsets;
  const auto object = [&](const std::string& body) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(offsets.size()) + " 0 obj\n" + body + "\nendobj\n";
  };
  // Objects: 1 catalog, 2 page tree, 3 font, 4 content stream, 5... pages.
  std::string kids;
  for (int p = 0; p < pages; ++p) kids += std::to_string(5 + p) + " 0 R ";
  object("<< /Type /Catalog /Pages 2 0 R >>");
  object("<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(pages) + " >>");
  object("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  offsets.push_back(pdf.size());
  pdf += "4 0 obj\n<< /Length " + std::to_string(stream.size()) + " /Filter /FlateDecode >>\nstream\n";
  pdf.append(reinterpret_cast<const char*>(stream.data()), stream.size());
  pdf += "\nendstream\nendobj\n";
  for (int p = 0; p < pages; ++p) {
    object("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
           "/Contents 4 0 R >>");
  }
  const std::size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(offsets.size() + 1) + "\n0000000000 65535 f \n";
  for (const auto offset : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", offset);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(offsets.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";

  std::FILE* file = std::fopen(argv[1], "wb");
  if (!file || std::fwrite(pdf.data(), 1, pdf.size(), file) != pdf.size() || std::fclose(file) != 0) {
    std::fprintf(stderr, "make-bomb-pdf: cannot write %s: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  std::printf("%zu\n", pdf.size());
  return 0;
}
