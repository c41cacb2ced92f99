#include "lib/util/sha256.hpp"

#include <openssl/evp.h>

#include <array>
#include <fstream>
#include <memory>

#include "lib/util/hex.hpp"

namespace pipeline::util {
namespace {

using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

DigestContext new_context() {
  DigestContext context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr);
  return context;
}

std::string finish(EVP_MD_CTX* context) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_DigestFinal_ex(context, digest.data(), &size);
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest.data()), size));
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  auto context = new_context();
  EVP_DigestUpdate(context.get(), data.data(), data.size());
  return finish(context.get());
}

Expected<std::string> sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorKind::bad_input, "cannot read " + path.string());
  auto context = new_context();
  std::array<char, 1 << 16> block{};
  while (in) {
    in.read(block.data(), block.size());
    EVP_DigestUpdate(context.get(), block.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return fail(ErrorKind::bad_input, "error while reading " + path.string());
  return finish(context.get());
}

}  // namespace pipeline::util
