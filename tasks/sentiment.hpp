#pragma once
// The sentiment task's vocabulary and labelling rule, public so that a program can classify
// its own sentences with a model trained on the task.

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.hpp"

namespace unroll::tasks::sentiment {

/// Token id of the padding word "<pad>" (sentences are left-padded to the batch length).
inline constexpr std::int64_t kPad = 0;

/// Every word the task knows; a word's index is its token id (index 0 is "<pad>").
std::vector<std::string> vocabulary();

/// Words of a sentence: lowercased, split on whitespace, with . , ! ? ; : treated as spaces.
/// std::invalid_argument on an empty sentence or naming the first unknown word.
std::vector<std::string> words(const std::string& sentence);

/// Token ids of `words(sentence)`; std::invalid_argument as for words().
std::vector<std::int64_t> tokenize(const std::string& sentence);

/// The sentence as a [1, max(length, n)] batch of token ids, left-padded with kPad.
IndexTensor encode(const std::string& sentence, std::size_t length);

/// The rule that labels generated sentences: only the clause after the last "but" counts;
/// its polarity word (good, dull, liked, hated, ...) decides, flipped by each "not" in that
/// clause; intensifiers (very, really, so) change nothing. 1 positive, 0 negative;
/// std::invalid_argument when the deciding clause has no polarity word.
int rule_label(const std::vector<std::string>& words);

}  // namespace unroll::tasks::sentiment
