#include "engine/changes.h"

#include "absl/strings/match.h"
#include "engine/internal/format.h"

namespace leadlog {

std::string ChangeKey(Sequence sequence, absl::string_view entity_key) {
  std::string key;
  key.reserve(kChangeKeyHeaderBytes + entity_key.size());
  key.append(kChangePrefix.data(), kChangePrefix.size());
  internal::PutU64(sequence.value(), &key);
  key.append(entity_key.data(), entity_key.size());
  return key;
}

bool ParseChangeKey(absl::string_view key, Sequence* sequence, std::string* entity_key) {
  if (key.size() <= kChangeKeyHeaderBytes || !absl::StartsWith(key, kChangePrefix)) return false;
  *sequence = Sequence(internal::GetU64(key.data() + kChangePrefix.size()));
  entity_key->assign(key.data() + kChangeKeyHeaderBytes, key.size() - kChangeKeyHeaderBytes);
  return true;
}

void WriteChange(ProjectionTxn& txn, Sequence sequence, absl::string_view entity_key) {
  // An empty entity key is a fold bug: an empty txn key poisons the chunk
  // (InvalidArgument naming "key") instead of storing an unparseable entry.
  if (entity_key.empty()) {
    txn.Put("", std::string());
    return;
  }
  txn.Put(ChangeKey(sequence, entity_key), std::string());
}

}  // namespace leadlog
