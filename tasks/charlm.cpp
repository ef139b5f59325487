// Character LM: the corpus is held in memory and each batch row is a random window, so
// epochs do not exist and any length up to the corpus size works. The whole text is used
// for both training and evaluation windows (there is no held-out split): the metric says how
// well a model fits this text, which is what a comparison between architectures needs.

#include "tasks/charlm.hpp"

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tasks/builtin.hpp"

namespace unroll::tasks {
namespace {

using Words = std::vector<std::string>;

const std::string& pick(Generator& g, const Words& ws) {
  return ws[g.below(ws.size())];
}

// Noun phrases, verbs and connectives that make a text with English letter statistics,
// common words and long-range structure (capitals after full stops, paragraph breaks).
std::string noun_phrase(Generator& g) {
  static const Words dets = {"the", "a", "the", "this", "every", "my", "her", "his", "our"};
  static const Words adjs = {"old",     "small", "quiet", "bright", "cold", "green", "long",
                             "strange", "happy", "heavy", "little", "dark", "warm"};
  static const Words nouns = {"man",    "woman",  "river", "house", "garden", "dog",     "boat",
                              "letter", "window", "child", "city",  "road",   "teacher", "morning",
                              "forest", "door",   "king",  "bird",  "table",  "friend"};
  std::string s = pick(g, dets) + " ";
  if (g.uniform() < 0.4f) s += pick(g, adjs) + " ";
  return s + pick(g, nouns);
}

std::string clause(Generator& g) {
  static const Words verbs = {"saw",     "found",   "opened", "followed", "remembered", "painted",
                              "carried", "watched", "loved",  "crossed",  "heard",      "left"};
  static const Words intrans = {"slept", "waited", "laughed", "smiled", "walked", "sang"};
  static const Words preps = {"near", "behind", "under", "across", "beside", "into"};
  static const Words adverbs = {"slowly", "again", "quietly", "at last", "every day"};
  std::string s = noun_phrase(g) + " ";
  if (g.uniform() < 0.7f)
    s += pick(g, verbs) + " " + noun_phrase(g);
  else
    s += pick(g, intrans) + " " + pick(g, preps) + " " + noun_phrase(g);
  if (g.uniform() < 0.25f) s += " " + pick(g, adverbs);
  return s;
}

std::string sentence(Generator& g) {
  static const Words joins = {", and ", ", but ", " because ", " while ", ", so "};
  std::string s = clause(g);
  if (g.uniform() < 0.45f) s += pick(g, joins) + clause(g);
  s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s + (g.uniform() < 0.1f ? "!" : ".");
}

std::string read_text(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw std::invalid_argument("charlm: text file '" + path + "' does not exist");
  if (!fs::is_regular_file(path, ec))
    throw std::invalid_argument("charlm: text path '" + path + "' is not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("charlm: cannot open text file '" + path + "'");
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw std::invalid_argument("charlm: cannot read text file '" + path + "'");
  return text;
}

}  // namespace

std::string generated_corpus(std::size_t chars) {
  Generator g(20240917u);  // fixed: the default corpus is the same for every run and seed
  std::string text;
  while (text.size() < chars) {
    const std::size_t n = 3 + g.below(4);  // sentences per paragraph
    for (std::size_t i = 0; i < n; ++i) text += (i ? " " : "") + sentence(g);
    text += "\n";
  }
  return text;
}

CharLMTask::CharLMTask(const std::string& path)
    : source_(path.empty() ? "generated corpus" : "text file '" + path + "'"),
      text_(path.empty() ? generated_corpus() : read_text(path)) {
  if (text_.empty()) throw std::invalid_argument("charlm: " + source_ + " is empty");
  if (text_.size() < 2)
    throw std::invalid_argument("charlm: " + source_ +
                                " has 1 character; at least 2 are needed (input and target)");
  if (const auto nul = text_.find('\0'); nul != std::string::npos)
    throw std::invalid_argument("charlm: " + source_ + " contains a NUL byte at offset " +
                                std::to_string(nul) + " (is it a binary file?)");
  std::array<std::size_t, 256> counts{};
  for (char c : text_) ++counts[static_cast<unsigned char>(c)];
  for (int c = 0; c < 256; ++c) {
    id_of_[c] = counts[c] ? static_cast<std::int64_t>(alphabet_.size()) : -1;
    if (counts[c]) alphabet_.push_back(static_cast<char>(c));
    if (counts[c]) {
      const double p = static_cast<double>(counts[c]) / static_cast<double>(text_.size());
      unigram_bits_ -= p * std::log2(p);
    }
  }
}

std::string CharLMTask::description() const {
  return "character language model on the " + source_ + " (" + std::to_string(text_.size()) +
         " bytes, " + std::to_string(alphabet_.size()) +
         " symbols); bits per character, unigram baseline";
}

TaskSpec CharLMTask::spec() const {
  return {InputKind::Tokens, alphabet_.size(), TargetKind::Classes, alphabet_.size()};
}

std::vector<std::int64_t> CharLMTask::encode(const std::string& s) const {
  std::vector<std::int64_t> ids;
  ids.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (id_of_[c] < 0)
      throw std::invalid_argument("charlm: byte " + std::to_string(c) + " at offset " +
                                  std::to_string(i) + " is not in the corpus alphabet");
    ids.push_back(id_of_[c]);
  }
  return ids;
}

std::string CharLMTask::decode(const std::vector<std::int64_t>& ids) const {
  std::string s;
  s.reserve(ids.size());
  for (auto id : ids) {
    if (id < 0 || id >= static_cast<std::int64_t>(alphabet_.size()))
      throw std::invalid_argument("charlm: token id " + std::to_string(id) +
                                  " is outside the alphabet of " +
                                  std::to_string(alphabet_.size()) + " symbols");
    s.push_back(alphabet_[static_cast<std::size_t>(id)]);
  }
  return s;
}

Batch CharLMTask::sample(Generator& gen, std::size_t batch, std::size_t length) const {
  require_min_length("charlm", length, 1);
  if (length + 1 > text_.size())
    throw std::invalid_argument("charlm: length " + std::to_string(length) + " needs " +
                                std::to_string(length + 1) + " characters but the " + source_ +
                                " has " + std::to_string(text_.size()));
  Batch b;
  b.tokens = xt::zeros<std::int64_t>({batch, length});
  b.class_targets = xt::zeros<std::int64_t>({batch, length});
  for (std::size_t i = 0; i < batch; ++i) {
    const std::size_t start = gen.below(text_.size() - length);
    for (std::size_t t = 0; t < length; ++t) {
      b.tokens(i, t) = id_of_[static_cast<unsigned char>(text_[start + t])];
      b.class_targets(i, t) = id_of_[static_cast<unsigned char>(text_[start + t + 1])];
    }
  }
  return b;
}

double CharLMTask::baseline(std::size_t) const {
  return unigram_bits_;
}

std::map<std::string, double> CharLMTask::metrics(const Tensor& outputs, const Batch& b) const {
  auto m = Task::metrics(outputs, b);
  m["bpc"] = m["cross_entropy"] / std::log(2.0);
  return m;
}

std::unique_ptr<Task> make_charlm_task(const std::string& text_path) {
  return std::make_unique<CharLMTask>(text_path);
}

}  // namespace unroll::tasks
