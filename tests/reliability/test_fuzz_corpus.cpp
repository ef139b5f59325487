// Replays the fuzzers' saved corpus (fuzz/corpus/, see scripts/fuzz.sh) through the same
// entry points the libFuzzer targets call, with the normal build: every input either loads
// or is rejected with the loader's own error, and never crashes. The corpus holds inputs
// that each reached new code, plus every crash reproducer the fuzzers found.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "fuzz/checkpoint_target.hpp"
#include "fuzz/safetensors_target.hpp"

using namespace unroll;
namespace fs = std::filesystem;

namespace {

/// Every regular file of fuzz/corpus/<target>, sorted; empty if the folder is missing.
std::vector<fs::path> corpus(const std::string& target) {
  const fs::path dir = fs::path(UNROLL_FUZZ_CORPUS_DIR) / target;
  std::vector<fs::path> files;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::uint8_t> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Number of inputs that loaded and that were rejected; an unexpected exception or a
/// crash fails the test with the file's name in the INFO.
template <class Check>
std::pair<int, int> replay(const std::string& target, Check&& check) {
  const auto files = corpus(target);
  INFO("corpus folder " << UNROLL_FUZZ_CORPUS_DIR << "/" << target);
  REQUIRE(!files.empty());  // a missing or emptied corpus would make the replay vacuous
  int loaded = 0, rejected = 0;
  for (const fs::path& f : files) {
    INFO("input " << f.filename().string());
    const auto b = bytes_of(f);
    (check(f, b) ? loaded : rejected)++;
  }
  return {loaded, rejected};
}

}  // namespace

TEST_CASE("safetensors fuzz corpus: every input loads or gives a FormatError", "[fuzz]") {
  const auto [loaded, rejected] = replay("safetensors", [](const fs::path& f, const auto& b) {
    const bool ok = fuzz::safetensors_input(b.data(), b.size());
    // The file entry point must agree with the in-memory one.
    if (ok)
      CHECK_NOTHROW(nn::load_safetensors(f.string()));
    else
      CHECK_THROWS_AS(nn::load_safetensors(f.string()), nn::FormatError);
    return ok;
  });
  // The corpus must exercise both paths: valid files (conversion of every dtype) and
  // malformed ones.
  CHECK(loaded >= 5);
  CHECK(rejected >= 5);
}

TEST_CASE("checkpoint fuzz corpus: every input loads and trains, or gives a CheckpointError",
          "[fuzz]") {
  const auto [loaded, rejected] = replay("checkpoint", [](const fs::path& f, const auto& b) {
    const bool ok = fuzz::checkpoint_input(b.data(), b.size());
    // The file entry point must agree with the in-memory one.
    std::map<std::string, std::string> meta;
    try {
      meta = nn::load_safetensors(f.string()).metadata;
    } catch (const nn::FormatError&) {
    }
    fuzz::CheckpointTarget t(meta);
    optim::TrainingState s = t.state();
    if (ok)
      CHECK_NOTHROW(optim::load_checkpoint(f.string(), s));
    else
      CHECK_THROWS_AS(optim::load_checkpoint(f.string(), s), optim::CheckpointError);
    return ok;
  });
  CHECK(loaded >= 5);
  CHECK(rejected >= 5);
}

TEST_CASE("checkpoint fuzz reproducers are rejected with a message naming the bad value",
          "[fuzz]") {
  // Each file is a valid checkpoint with one metadata value changed. Before the fixes the
  // first three converted 1e300 to std::int64_t and the last two let the next step
  // increment INT64_MAX (both undefined behaviour, reported by UBSan).
  const std::pair<const char*, const char*> cases[] = {
      {"repro-schedule-step_size-1e300", "invalid step_size = 1e+300, expected an integer >= 1"},
      {"repro-schedule-T_max-1e300", "invalid T_max = 1e+300, expected an integer >= 1"},
      {"repro-schedule-patience-1e300", "invalid patience = 1e+300, expected an integer >= 0"},
      {"repro-schedule-last_epoch-int64max",
       "'last_epoch' = '9223372036854775807' is not an epoch"},
      {"repro-optim-step-int64max", "'state.0.0.step' = '9223372036854775807' is not a step count"},
  };
  for (const auto& [file, message] : cases) {
    INFO("input " << file);
    const auto b = bytes_of(fs::path(UNROLL_FUZZ_CORPUS_DIR) / "checkpoint" / file);
    fuzz::CheckpointTarget t(nn::parse_safetensors(b.data(), b.size(), file).metadata);
    optim::TrainingState s = t.state();
    CHECK_THROWS_WITH(optim::load_checkpoint(b.data(), b.size(), file, s),
                      Catch::Matchers::Contains(message));
  }
}
