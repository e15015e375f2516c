// TempDir: a fresh directory for one test, removed with everything in it
// when the object goes out of scope.
//
//   TempDir dir;
//   options.data_dir = dir.path() + "/db";
#ifndef LEADLOG_ENGINE_TESTING_TEMP_DIR_H_
#define LEADLOG_ENGINE_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace leadlog::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "leadlog-XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "mkdtemp " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace leadlog::testing

#endif  // LEADLOG_ENGINE_TESTING_TEMP_DIR_H_
