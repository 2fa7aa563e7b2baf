// Option strings of the Python API, parsed into the core's enums.
#pragma once

#include <stdexcept>
#include <string>

#include "greedy_rae/engine.hpp"
#include "greedy_rae/model.hpp"

inline greedy_rae::PairMode parse_pair_mode(const std::string& pairs) {
    if (pairs == "all") return greedy_rae::PairMode::All;
    if (pairs == "adjacent") return greedy_rae::PairMode::Adjacent;
    throw std::invalid_argument("pairs must be 'all' or 'adjacent', got '" + pairs + "'");
}

inline greedy_rae::Activation parse_activation(const std::string& name) {
    if (name == "linear") return greedy_rae::Activation::Linear;
    if (name == "tanh") return greedy_rae::Activation::Tanh;
    if (name == "relu") return greedy_rae::Activation::Relu;
    throw std::invalid_argument("activation must be 'linear', 'tanh' or 'relu', got '" + name +
                                "'");
}

inline greedy_rae::Reconstruction parse_reconstruction(const std::string& name) {
    if (name == "plain") return greedy_rae::Reconstruction::Plain;
    if (name == "weighted") return greedy_rae::Reconstruction::Weighted;
    throw std::invalid_argument("reconstruction must be 'plain' or 'weighted', got '" + name + "'");
}
