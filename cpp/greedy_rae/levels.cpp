#include "greedy_rae/levels.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace greedy_rae {

void merge_levels(const std::int64_t* left, const std::int64_t* right, const std::int64_t* node,
                  std::int64_t m, std::int64_t total_nodes, std::int32_t* level) {
    std::vector<std::int32_t> of(static_cast<std::size_t>(total_nodes), 0);
    auto check = [&](std::int64_t id) {
        if (id < 0 || id >= total_nodes) throw std::invalid_argument("node id out of range");
        return static_cast<std::size_t>(id);
    };
    for (std::int64_t k = 0; k < m; ++k) {
        const std::int32_t lv = 1 + std::max(of[check(left[k])], of[check(right[k])]);
        of[check(node[k])] = lv;
        level[k] = lv;
    }
}

}  // namespace greedy_rae
