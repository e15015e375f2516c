#include "engine/internal/store.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/internal/format.h"
#include "engine/internal/projection_format.h"
#include "engine/status_macros.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace leadlog::internal {
namespace {

constexpr const char* kOurFamilies[] = {kLogFamily, kByLeadFamily, kDedupFamily, kMetaFamily,
                                        kDeadLettersFamily};

bool IsOurFamily(absl::string_view name) {
  return std::find(std::begin(kOurFamilies), std::end(kOurFamilies), name) !=
         std::end(kOurFamilies);
}

rocksdb::DBOptions MakeDbOptions(bool read_only) {
  rocksdb::DBOptions options;
  options.create_if_missing = !read_only;
  options.create_missing_column_families = !read_only;
  // RocksDB's own info LOG files; the default keeps 1000 of them.
  options.keep_log_file_num = 10;
  // Bounds the WAL that Open replays after a crash: past this size RocksDB
  // flushes the families holding the oldest WAL file. The default (4 x all
  // write buffers) let a restart replay hundreds of MB (bench/run.sh,
  // "restart to processing").
  options.max_total_wal_size = uint64_t{256} << 20;
  return options;
}

// Bloom filters for point lookups of keys that are often absent: a
// whole-key filter in the memtable (2 % of write_buffer_size, ≈ 1.3 MiB at
// the 64 MiB default) and one in each table, each saving a search.
void AddAbsentKeyFilters(rocksdb::ColumnFamilyOptions& options) {
  options.memtable_prefix_bloom_size_ratio = 0.02;
  options.memtable_whole_key_filtering = true;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
}

rocksdb::ColumnFamilyOptions MakeFamilyOptions(const std::string& name) {
  rocksdb::ColumnFamilyOptions options;
  // Keys of log, by_lead and dead_letters arrive mostly in order; dynamic
  // level sizes keep space amplification low as the log grows.
  options.level_compaction_dynamic_level_bytes = true;
  if (name == kDedupFamily) {
    // Every Append looks up all its event ids, which are usually new
    // (measured: bench/append_bench, docs/BENCHMARKS.md).
    AddAbsentKeyFilters(options);
  }
  if (absl::StartsWith(name, kProjectionFamilyPrefix)) {
    // A fold reads its state key by key, often keys that do not exist yet
    // (a flow enrollment, an identity). Its state is rewritten often, so
    // most flushed bytes are compacted away before they reach the bottom
    // level: only the bottom level is compressed (compressing everything
    // made the family ≈ 2.5 x smaller than storing it raw, so the bottom
    // level keeps it). Measured on a rebuild of 3 M events: ≈ 10 % less CPU
    // and wall time (docs/BENCHMARKS.md "Fold locks and projection family
    // options").
    AddAbsentKeyFilters(options);
    options.compression_per_level = {rocksdb::kNoCompression, rocksdb::kNoCompression,
                                     rocksdb::kSnappyCompression};
    options.bottommost_compression = rocksdb::kSnappyCompression;
  }
  return options;
}

bool HasDb(const std::string& data_dir) {
  std::error_code error;
  return std::filesystem::exists(std::filesystem::path(data_dir) / "CURRENT", error);
}

// Names of the column families to open: all existing ones (RocksDB requires
// it for a writable open) plus leadlog's (created when missing).
absl::StatusOr<std::vector<std::string>> FamiliesToOpen(const std::string& data_dir,
                                                        bool read_only) {
  std::vector<std::string> names;
  if (HasDb(data_dir)) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(MakeDbOptions(read_only), data_dir, &names);
    if (!s.ok()) return FromRocksStatus(s, data_dir, "list column families");
  } else if (read_only) {
    return absl::NotFoundError(absl::StrCat("no leadlog data in ", data_dir));
  } else {
    names.push_back(rocksdb::kDefaultColumnFamilyName);
  }
  for (const char* ours : kOurFamilies) {
    if (std::find(names.begin(), names.end(), ours) != names.end()) continue;
    if (read_only) {
      return absl::NotFoundError(
          absl::StrCat("no leadlog data in ", data_dir, " (no column family '", ours, "')"));
    }
    names.push_back(ours);
  }
  return names;
}

}  // namespace

absl::Status FromRocksStatus(const rocksdb::Status& status, absl::string_view data_dir,
                             absl::string_view action) {
  if (status.ok()) return absl::OkStatus();
  std::string text = status.ToString();
  if (status.IsIOError() && absl::StrContains(absl::AsciiStrToLower(text), "lock")) {
    return absl::FailedPreconditionError(
        absl::StrCat("data dir ", data_dir, " is locked by another process (", text, ")"));
  }
  std::string message = absl::StrCat(action, " in ", data_dir, ": ", text);
  if (status.IsCorruption()) return absl::DataLossError(message);
  return absl::InternalError(message);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& data_dir, bool read_only) {
  std::vector<std::string> names;
  ASSIGN_OR_RETURN(names, FamiliesToOpen(data_dir, read_only));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, MakeFamilyOptions(name));

  std::unique_ptr<Store> store(new Store(data_dir, read_only));
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = read_only ? rocksdb::DB::OpenForReadOnly(MakeDbOptions(read_only), data_dir,
                                                               descriptors, &store->handles_, &db)
                                : rocksdb::DB::Open(MakeDbOptions(read_only), data_dir, descriptors,
                                                    &store->handles_, &db);
  if (!s.ok()) return FromRocksStatus(s, data_dir, "open");
  store->db_.reset(db);
  for (size_t i = 0; i < names.size(); ++i) {
    rocksdb::ColumnFamilyHandle* handle = store->handles_[i];
    if (names[i] == kLogFamily) store->families_.log = handle;
    if (names[i] == kByLeadFamily) store->families_.by_lead = handle;
    if (names[i] == kDedupFamily) store->families_.dedup = handle;
    if (names[i] == kMetaFamily) store->families_.meta = handle;
    if (names[i] == kDeadLettersFamily) store->families_.dead_letters = handle;
    if (!IsOurFamily(names[i]) && names[i] != rocksdb::kDefaultColumnFamilyName) {
      absl::MutexLock lock(&store->extra_mu_);
      store->extra_[names[i]] = handle;
    }
  }
  return store;
}

std::vector<std::string> Store::ExtraFamilyNames() const {
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&extra_mu_);
    for (const auto& [name, handle] : extra_) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

rocksdb::ColumnFamilyHandle* Store::ExtraFamily(absl::string_view name) const {
  absl::MutexLock lock(&extra_mu_);
  auto it = extra_.find(name);
  return it == extra_.end() ? nullptr : it->second;
}

absl::StatusOr<rocksdb::ColumnFamilyHandle*> Store::CreateOrGetFamily(const std::string& name) {
  if (IsOurFamily(name) || name == rocksdb::kDefaultColumnFamilyName) {
    return absl::InvalidArgumentError(
        absl::StrCat("column family '", name, "' is one of leadlog's own"));
  }
  absl::MutexLock lock(&extra_mu_);
  auto it = extra_.find(name);
  if (it != extra_.end()) return it->second;
  if (read_only_) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create column family '", name, "': ", data_dir_, " is open read-only"));
  }
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  rocksdb::Status s = db_->CreateColumnFamily(MakeFamilyOptions(name), name, &handle);
  RETURN_IF_ERROR(FromRocks(s, absl::StrCat("create column family '", name, "'")));
  later_handles_.push_back(handle);
  extra_[name] = handle;
  return handle;
}

absl::Status Store::DropFamily(const std::string& name) {
  absl::MutexLock lock(&extra_mu_);
  auto it = extra_.find(name);
  if (it == extra_.end()) {
    return absl::NotFoundError(absl::StrCat("no column family '", name, "' in ", data_dir_));
  }
  if (read_only_) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot drop column family '", name, "': ", data_dir_, " is open read-only"));
  }
  RETURN_IF_ERROR(FromRocks(db_->DropColumnFamily(it->second),
                            absl::StrCat("drop column family '", name, "'")));
  // The handle stays valid (and owned) until ~Store: a reader may hold it.
  extra_.erase(it);
  return absl::OkStatus();
}

Store::~Store() {
  if (db_ == nullptr) return;
  if (!read_only_) {
    // A clean shutdown leaves no WAL to replay: the next Open is fast. Best
    // effort: what is not flushed is in the WAL and replayed as after a crash.
    std::vector<rocksdb::ColumnFamilyHandle*> families = handles_;
    {
      absl::MutexLock lock(&extra_mu_);
      families.insert(families.end(), later_handles_.begin(), later_handles_.end());
    }
    for (rocksdb::ColumnFamilyHandle* family : families) {
      db_->Flush(rocksdb::FlushOptions(), family).PermitUncheckedError();  // dropped: skipped
    }
  }
  for (rocksdb::ColumnFamilyHandle* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  absl::MutexLock lock(&extra_mu_);
  for (rocksdb::ColumnFamilyHandle* handle : later_handles_) {
    db_->DestroyColumnFamilyHandle(handle);
  }
  db_->Close();
}

RangeIterator::RangeIterator(const Store& store, rocksdb::ColumnFamilyHandle* family,
                             std::string lower, std::string upper,
                             const rocksdb::Snapshot* snapshot)
    : lower_(std::move(lower)),
      upper_(std::move(upper)),
      lower_slice_(lower_),
      upper_slice_(upper_) {
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  read.iterate_lower_bound = &lower_slice_;
  read.iterate_upper_bound = upper_.empty() ? nullptr : &upper_slice_;
  it_.reset(store.db()->NewIterator(read, family));
  it_->Seek(lower_slice_);
}

}  // namespace leadlog::internal
