// The core's exceptions (the bindings map them to Python's in module.cpp).
#pragma once

#include <stdexcept>
#include <string>

namespace greedy_rae {

// Thrown when a pair's error is NaN or infinite: the weights have diverged
// (or overflowed), and no greedy choice is meaningful.
struct NonFinite : std::domain_error {
    NonFinite()
        : std::domain_error("the merge network produced a non-finite reconstruction error") {}
    explicit NonFinite(const std::string& what) : std::domain_error(what) {}
};

// Thrown from inside a build (or a pool's run) when its cancel flag is raised.
struct Cancelled : std::runtime_error {
    Cancelled() : std::runtime_error("build cancelled") {}
};

}  // namespace greedy_rae
