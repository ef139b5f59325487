#pragma once
// Character-level language modelling: the corpus and its byte alphabet are public so that a
// program can encode a prompt and decode a trained model's samples.

#include <cstdint>
#include <string>
#include <vector>

#include "tasks/task.hpp"

namespace unroll::tasks {

/// A deterministic English-like text of at least `chars` characters (sentences from a
/// small grammar, in paragraphs): the default corpus when no text file is given.
std::string generated_corpus(std::size_t chars = 200000);

/// Next-character prediction on a text: input chars[0..T), targets chars[1..T] from random
/// windows. Bytes are the characters (UTF-8 text is modelled byte by byte).
class CharLMTask final : public Task {
 public:
  /// Reads `text_path` (empty: generated_corpus()). std::invalid_argument naming the path
  /// for an unreadable or empty file, fewer than 2 characters, or a NUL byte.
  explicit CharLMTask(const std::string& text_path);

  /// The corpus and its alphabet: the sorted distinct bytes, index = token id.
  const std::string& text() const { return text_; }
  /// Index = token id.
  const std::string& alphabet() const { return alphabet_; }
  /// Token ids of `s`; std::invalid_argument naming a byte not in the alphabet.
  std::vector<std::int64_t> encode(const std::string& s) const;
  /// The bytes of token ids; std::invalid_argument for an id outside the alphabet.
  std::string decode(const std::vector<std::int64_t>& ids) const;

  /// "charlm".
  std::string name() const override { return "charlm"; }
  std::string description() const override;
  /// Tokens in, Classes out; both sized by the alphabet.
  TaskSpec spec() const override;
  std::string metric() const override { return "bpc"; }
  /// Bpc: lower is better.
  bool higher_is_better() const override { return false; }
  std::size_t default_length() const override { return 64; }
  Batch sample(Generator& gen, std::size_t batch, std::size_t length) const override;
  /// Bits per character of the corpus's unigram distribution: -sum p log2 p.
  double baseline(std::size_t length) const override;
  /// The default metrics plus "bpc" = cross_entropy / ln 2.
  std::map<std::string, double> metrics(const Tensor& outputs, const Batch& batch) const override;

 private:
  std::string source_;  // the path, or "generated corpus", for messages
  std::string text_, alphabet_;
  std::int64_t id_of_[256];  // byte -> token id, -1 if absent
  double unigram_bits_ = 0;
};

}  // namespace unroll::tasks
