#pragma once

#include <stdexcept>
#include <string>

#include "greedy_rae/greedy.hpp"

inline greedy_rae::PairMode parse_pair_mode(const std::string& pairs) {
    if (pairs == "all") return greedy_rae::PairMode::All;
    if (pairs == "adjacent") return greedy_rae::PairMode::Adjacent;
    throw std::invalid_argument("pairs must be 'all' or 'adjacent', got '" + pairs + "'");
}
