// Sentiment of generated movie-review sentences, labelled by a fixed rule (see
// tasks/sentiment.hpp). The grammar is built so that a bag of words cannot solve it:
// "not" flips a clause, and with "but" only the last clause counts, so "good but dull" and
// "dull but good" have the same words and opposite labels.
//   clause   := SUBJ COPULA [not] [INTENS] ADJ          "the plot was not very good"
//             | i [did not] [really] VERB OBJ           "i did not really like the movie"
//   sentence := clause (but clause)*
//             | i (expected OBJ to be | thought OBJ would be) ADJ but clause

#include "tasks/sentiment.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "tasks/builtin.hpp"

namespace unroll::tasks {
namespace sentiment {
namespace {

using Words = std::vector<std::string>;

const Words kNouns = {"movie", "film", "plot", "acting", "story", "ending", "music"};
const Words kCopulas = {"was", "is"};
const Words kIntensifiers = {"very", "really", "so"};
const Words kGoodAdjectives = {"good", "great", "fun", "brilliant", "wonderful", "enjoyable"};
const Words kBadAdjectives = {"bad", "dull", "boring", "awful", "terrible", "weak"};
// Past and bare forms, pairwise: "i liked it", "i did not like it".
const Words kGoodVerbs = {"liked", "loved", "enjoyed"}, kGoodBare = {"like", "love", "enjoy"};
const Words kBadVerbs = {"hated", "disliked"}, kBadBare = {"hate", "dislike"};

const std::vector<Words>& word_groups() {
  static const std::vector<Words> groups = {
      {"<pad>", "the", "it", "i", "not", "did", "but", "expected", "thought", "to", "be", "would"},
      kNouns,
      kCopulas,
      kIntensifiers,
      kGoodAdjectives,
      kBadAdjectives,
      kGoodVerbs,
      kGoodBare,
      kBadVerbs,
      kBadBare};
  return groups;
}

const std::map<std::string, std::int64_t>& word_ids() {
  static const std::map<std::string, std::int64_t> ids = [] {
    std::map<std::string, std::int64_t> m;
    for (const auto& w : vocabulary()) m.emplace(w, static_cast<std::int64_t>(m.size()));
    return m;
  }();
  return ids;
}

bool contains(const Words& ws, const std::string& w) {
  return std::find(ws.begin(), ws.end(), w) != ws.end();
}

const std::string& pick(Generator& gen, const Words& ws) {
  return ws[gen.below(ws.size())];
}
bool coin(Generator& gen, double p) {
  return gen.uniform() < p;
}

void append_object(Generator& gen, Words& out) {
  if (coin(gen, 0.3)) {
    out.push_back("it");
  } else {
    out.push_back("the");
    out.push_back(pick(gen, kNouns));
  }
}

Words random_clause(Generator& gen) {
  Words c;
  const bool good = coin(gen, 0.5);
  if (coin(gen, 0.6)) {
    append_object(gen, c);
    c.push_back(pick(gen, kCopulas));
    if (coin(gen, 0.4)) c.push_back("not");
    if (coin(gen, 0.3)) c.push_back(pick(gen, kIntensifiers));
    c.push_back(pick(gen, good ? kGoodAdjectives : kBadAdjectives));
  } else {
    c.push_back("i");
    const bool negated = coin(gen, 0.4);
    if (negated) c.insert(c.end(), {"did", "not"});
    if (coin(gen, 0.3)) c.push_back("really");
    const std::size_t v = gen.below(good ? kGoodVerbs.size() : kBadVerbs.size());
    c.push_back(negated ? (good ? kGoodBare : kBadBare)[v] : (good ? kGoodVerbs : kBadVerbs)[v]);
    append_object(gen, c);
  }
  return c;
}

// A clause of at most `budget` (>= 3) words: rejection keeps the distribution of the
// unconstrained grammar when the budget allows, a 3-word clause guarantees termination.
Words clause_within(Generator& gen, std::size_t budget) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    Words c = random_clause(gen);
    if (c.size() <= budget) return c;
  }
  return {"it", pick(gen, kCopulas), pick(gen, coin(gen, 0.5) ? kGoodAdjectives : kBadAdjectives)};
}

Words expectation(Generator& gen) {
  Words c = {"i"};
  const bool expected = coin(gen, 0.5);
  c.push_back(expected ? "expected" : "thought");
  append_object(gen, c);
  if (expected)
    c.insert(c.end(), {"to", "be"});
  else
    c.insert(c.end(), {"would", "be"});
  c.push_back(pick(gen, coin(gen, 0.5) ? kGoodAdjectives : kBadAdjectives));
  return c;
}

Words random_sentence(Generator& gen, std::size_t length) {
  Words s;
  // An expectation needs "but" and a following clause: at least 6 + 1 + 3 words.
  Words first = coin(gen, 0.25) ? expectation(gen) : Words{};
  if (!first.empty() && first.size() + 4 <= length) {
    s = first;
    s.push_back("but");
    const Words c = clause_within(gen, length - s.size());
    s.insert(s.end(), c.begin(), c.end());
  } else {
    s = clause_within(gen, length);
  }
  while (s.size() + 4 <= length && coin(gen, 0.35)) {
    s.push_back("but");
    const Words c = clause_within(gen, length - s.size());
    s.insert(s.end(), c.begin(), c.end());
  }
  return s;
}

}  // namespace

std::vector<std::string> vocabulary() {
  Words v;
  for (const auto& g : word_groups()) v.insert(v.end(), g.begin(), g.end());
  return v;
}

std::vector<std::string> words(const std::string& sentence) {
  Words out;
  std::string w;
  auto flush = [&] {
    if (w.empty()) return;
    if (!word_ids().count(w) || w == "<pad>") {
      std::string known;
      for (const auto& k : vocabulary())
        if (k != "<pad>") known += (known.empty() ? "" : " ") + k;
      throw std::invalid_argument("sentiment: unknown word '" + w +
                                  "'; the vocabulary is: " + known);
    }
    out.push_back(w);
    w.clear();
  };
  for (char ch : sentence) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isspace(c) || std::string_view(".,!?;:").find(ch) != std::string_view::npos)
      flush();
    else
      w.push_back(static_cast<char>(std::tolower(c)));
  }
  flush();
  if (out.empty()) throw std::invalid_argument("sentiment: empty sentence");
  return out;
}

std::vector<std::int64_t> tokenize(const std::string& sentence) {
  std::vector<std::int64_t> ids;
  for (const auto& w : words(sentence)) ids.push_back(word_ids().at(w));
  return ids;
}

IndexTensor encode(const std::string& sentence, std::size_t length) {
  const auto ids = tokenize(sentence);
  const std::size_t T = std::max(length, ids.size());
  IndexTensor t = xt::zeros<std::int64_t>({std::size_t{1}, T});
  t.fill(kPad);
  std::copy(ids.begin(), ids.end(), t.begin() + static_cast<std::ptrdiff_t>(T - ids.size()));
  return t;
}

int rule_label(const std::vector<std::string>& ws) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < ws.size(); ++i)
    if (ws[i] == "but") start = i + 1;
  int polarity = -1;
  bool flipped = false;
  for (std::size_t i = start; i < ws.size(); ++i) {
    const std::string& w = ws[i];
    if (w == "not")
      flipped = !flipped;
    else if (contains(kGoodAdjectives, w) || contains(kGoodVerbs, w) || contains(kGoodBare, w))
      polarity = 1;
    else if (contains(kBadAdjectives, w) || contains(kBadVerbs, w) || contains(kBadBare, w))
      polarity = 0;
  }
  if (polarity < 0) {
    std::string clause;
    for (std::size_t i = start; i < ws.size(); ++i) clause += (clause.empty() ? "" : " ") + ws[i];
    throw std::invalid_argument("sentiment: no polarity word in the deciding clause '" + clause +
                                "'");
  }
  return flipped ? 1 - polarity : polarity;
}

}  // namespace sentiment

namespace {

class SentimentTask final : public Task {
 public:
  std::string name() const override { return "sentiment"; }
  std::string description() const override {
    return "sentiment: rule-labelled review sentences with negation, intensifiers and 'but' "
           "(the last clause decides), left-padded to T words (chance 0.5)";
  }
  TaskSpec spec() const override {
    return {InputKind::Tokens, sentiment::vocabulary().size(), TargetKind::Classes, 2};
  }
  std::string metric() const override { return "accuracy"; }
  bool higher_is_better() const override { return true; }
  std::size_t default_length() const override { return 16; }
  double baseline(std::size_t) const override { return 0.5; }

  Batch sample(Generator& gen, std::size_t batch, std::size_t length) const override {
    require_min_length("sentiment", length, 3);  // "it was good"
    Batch b;
    b.tokens = xt::zeros<std::int64_t>({batch, length});
    b.tokens.fill(sentiment::kPad);
    b.class_targets = xt::full_like(b.tokens, kNoTarget);
    for (std::size_t i = 0; i < batch; ++i) {
      const auto s = sentiment::random_sentence(gen, length);
      const std::size_t offset = length - s.size();
      for (std::size_t k = 0; k < s.size(); ++k)
        b.tokens(i, offset + k) = sentiment::word_ids().at(s[k]);
      b.class_targets(i, length - 1) = sentiment::rule_label(s);
    }
    return b;
  }
};

}  // namespace

std::unique_ptr<Task> make_sentiment_task() {
  return std::make_unique<SentimentTask>();
}

}  // namespace unroll::tasks
