// data_dir_grep: how often each string occurs in a RocksDB data dir, looking
// through compression: every *.sst file is read entry by entry with
// rocksdb::SstFileReader (keys and values decompressed, every version the
// file holds, tombstones included), every other file (WAL, MANIFEST, LOG,
// OPTIONS) as raw bytes. `grep -rac` alone misses strings that Snappy split
// into back-references, so the erasure test needs this to prove absence.
//
// Usage: data_dir_grep DIR STRING...   prints "<count>\t<string>" per string;
// exit 0, or 1 (message on stderr) when a file cannot be read.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "rocksdb/options.h"
#include "rocksdb/sst_file_reader.h"

namespace {

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// Every entry's key and value of one SST, decompressed, back to back.
bool ReadSst(const std::string& path, std::string* out) {
  rocksdb::Options options;
  rocksdb::SstFileReader reader(options);
  rocksdb::Status s = reader.Open(path);
  if (!s.ok()) {
    std::cerr << "data_dir_grep: " << path << ": " << s.ToString() << "\n";
    return false;
  }
  rocksdb::ReadOptions read;
  read.verify_checksums = true;
  std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(read));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out->append(it->key().data(), it->key().size());
    out->push_back('\0');
    out->append(it->value().data(), it->value().size());
    out->push_back('\0');
  }
  if (!it->status().ok()) {
    std::cerr << "data_dir_grep: " << path << ": " << it->status().ToString() << "\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: data_dir_grep DIR STRING...\n";
    return 2;
  }
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(argv[1])) {
    if (!entry.is_regular_file()) continue;
    const std::string path = entry.path().string();
    if (entry.path().extension() == ".sst") {
      if (!ReadSst(path, &all)) return 1;
    }
    // Raw bytes of every file (SSTs too: their uncompressed blocks).
    std::ifstream in(path, std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    all.push_back('\0');
  }
  for (int i = 2; i < argc; ++i) std::cout << Count(all, argv[i]) << "\t" << argv[i] << "\n";
  return 0;
}
