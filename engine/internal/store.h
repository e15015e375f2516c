// Store: the RocksDB instance behind an EventLog, its column families, and
// the one adapter from rocksdb::Status to absl::Status.
//
// Thread-safety: the DB and handles are thread-safe (RocksDB's contract);
// the set of extra (non-leadlog) families is guarded by a mutex.
// Lifetime: handles and DB live until the Store is destroyed, including the
// handles of families dropped with DropFamily (RocksDB keeps a dropped
// family's data readable through an open handle).
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(dir, /*read_only=*/false));
//   rocksdb::Status s = store->db()->Put({}, store->families().meta, key, value);
//   RETURN_IF_ERROR(store->FromRocks(s, "write meta"));
#ifndef LEADLOG_ENGINE_INTERNAL_STORE_H_
#define LEADLOG_ENGINE_INTERNAL_STORE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"

namespace leadlog::internal {

// Converts a RocksDB status: OK; an IOError about the lock file →
// FailedPrecondition "data dir <dir> is locked by another process";
// Corruption → DataLoss; anything else → Internal. Messages carry `action`
// and RocksDB's own text. The only place a rocksdb::Status is converted.
absl::Status FromRocksStatus(const rocksdb::Status& status, absl::string_view data_dir,
                             absl::string_view action);

struct Families {
  rocksdb::ColumnFamilyHandle* log = nullptr;
  rocksdb::ColumnFamilyHandle* by_lead = nullptr;
  rocksdb::ColumnFamilyHandle* dedup = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* dead_letters = nullptr;
};

class Store {
 public:
  // Opens (read_only: DB::OpenForReadOnly, no lock taken) or creates the DB
  // in `data_dir` with the leadlog column families. Column families that
  // exist but are not leadlog's (projection families) are opened too and
  // reachable through ExtraFamily. Errors: see EventLog::Open.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& data_dir, bool read_only);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  const Families& families() const { return families_; }
  const std::string& data_dir() const { return data_dir_; }
  bool read_only() const { return read_only_; }

  absl::Status FromRocks(const rocksdb::Status& status, absl::string_view action) const {
    return FromRocksStatus(status, data_dir_, action);
  }

  // Families that are not leadlog's fixed ones (e.g. projection families):
  // all found at Open plus those created since. Sorted by name.
  std::vector<std::string> ExtraFamilyNames() const ABSL_LOCKS_EXCLUDED(extra_mu_);
  // The handle of an extra family, or nullptr when there is none.
  rocksdb::ColumnFamilyHandle* ExtraFamily(absl::string_view name) const
      ABSL_LOCKS_EXCLUDED(extra_mu_);
  // Returns the extra family `name`, creating it (DB::CreateColumnFamily)
  // when missing. FailedPrecondition on a read-only store; InvalidArgument
  // for the name of a leadlog family.
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> CreateOrGetFamily(const std::string& name)
      ABSL_LOCKS_EXCLUDED(extra_mu_);
  // Drops the extra family `name` (DB::DropColumnFamily). NotFound when
  // there is none; FailedPrecondition on a read-only store.
  absl::Status DropFamily(const std::string& name) ABSL_LOCKS_EXCLUDED(extra_mu_);

 private:
  Store(std::string data_dir, bool read_only)
      : data_dir_(std::move(data_dir)), read_only_(read_only) {}

  std::string data_dir_;
  bool read_only_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // opened at Open, owned
  Families families_;
  mutable absl::Mutex extra_mu_;
  // Extra families by name: those opened at Open point into handles_, those
  // created later are owned here too (destroyed with the Store).
  absl::flat_hash_map<std::string, rocksdb::ColumnFamilyHandle*> extra_ ABSL_GUARDED_BY(extra_mu_);
  // Created after Open, or dropped: destroyed in ~Store.
  std::vector<rocksdb::ColumnFamilyHandle*> later_handles_ ABSL_GUARDED_BY(extra_mu_);
};

// The entries of `family` with keys in [lower, upper), in key order; an
// empty `upper` means to the end of the family. Positioned at the first
// entry on construction. It owns the bound strings RocksDB's ReadOptions
// point into, so it is neither copied nor moved.
//
//   RangeIterator it(store, family, prefix, PrefixSuccessor(prefix));
//   for (; it.Valid(); it.Next()) Use(it.key(), it.value());
//   RETURN_IF_ERROR(store.FromRocks(it.status(), "read meta"));
class RangeIterator {
 public:
  RangeIterator(const Store& store, rocksdb::ColumnFamilyHandle* family, std::string lower,
                std::string upper, const rocksdb::Snapshot* snapshot = nullptr);
  RangeIterator(const RangeIterator&) = delete;
  RangeIterator& operator=(const RangeIterator&) = delete;

  bool Valid() const { return it_->Valid(); }
  void Next() { it_->Next(); }
  // To the first entry at or after `target` within the bounds.
  void Seek(const rocksdb::Slice& target) { it_->Seek(target); }
  rocksdb::Slice key() const { return it_->key(); }
  rocksdb::Slice value() const { return it_->value(); }
  rocksdb::Status status() const { return it_->status(); }
  const std::string& lower() const { return lower_; }

 private:
  const std::string lower_;
  const std::string upper_;
  const rocksdb::Slice lower_slice_;
  const rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace leadlog::internal

#endif  // LEADLOG_ENGINE_INTERNAL_STORE_H_
