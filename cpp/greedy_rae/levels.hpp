// Depth levels of merges, for replaying them in batches: a leaf has level 0
// and a merge one more than its deeper child, so every merge of one level
// depends only on earlier levels.
#pragma once

#include <cstdint>

namespace greedy_rae {

// left/right/node: m merges given by global node ids, each merge after the
// merges that made its children. level: output, one entry per merge.
// total_nodes bounds the ids. Throws std::invalid_argument on a bad id.
void merge_levels(const std::int64_t* left, const std::int64_t* right, const std::int64_t* node,
                  std::int64_t m, std::int64_t total_nodes, std::int32_t* level);

}  // namespace greedy_rae
