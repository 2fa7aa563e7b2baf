#include "greedy_rae/greedy.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <stdexcept>

namespace greedy_rae {

Greedy::Greedy(int n, PairMode mode) : n_(n), mode_(mode), node_at_(n), active_(n) {
    if (n < 1) throw std::invalid_argument("a tree needs at least one leaf");
    for (int i = 0; i < n; ++i) {
        node_at_[i] = i;
        active_[i] = i;
    }
    if (mode_ == PairMode::All) {
        row_score_.assign(n, 0.0);
        row_slot_.assign(n, -1);
        row_node_.assign(n, -1);
        rows_ = IndexedHeap(n);
    } else {
        prev_.resize(n);
        next_.resize(n);
        for (int i = 0; i < n; ++i) {
            prev_[i] = i - 1;
            next_[i] = i + 1 < n ? i + 1 : -1;
        }
    }
}

int Greedy::rank(int slot) const {
    return static_cast<int>(std::lower_bound(active_.begin(), active_.end(), slot) - active_.begin());
}

void Greedy::initial_pairs(std::vector<int>& lefts, std::vector<int>& rights) const {
    lefts.clear();
    rights.clear();
    if (mode_ == PairMode::All) {
        for (int i = 0; i < n_; ++i) {
            for (int j = i + 1; j < n_; ++j) {
                lefts.push_back(i);
                rights.push_back(j);
            }
        }
    } else {
        for (int i = 0; i + 1 < n_; ++i) {
            lefts.push_back(i);
            rights.push_back(i + 1);
        }
    }
}

void Greedy::new_pairs(std::vector<int>& lefts, std::vector<int>& rights) const {
    lefts.clear();
    rights.clear();
    if (steps_ == 0 || done()) return;
    const int a = last_slot_;
    if (mode_ == PairMode::All) {
        for (int x : active_) {
            if (x == a) continue;
            lefts.push_back(std::min(x, a));
            rights.push_back(std::max(x, a));
        }
    } else {
        if (prev_[a] >= 0) {
            lefts.push_back(prev_[a]);
            rights.push_back(a);
        }
        if (next_[a] >= 0) {
            lefts.push_back(a);
            rights.push_back(next_[a]);
        }
    }
}

void Greedy::scan_row(PairScorer& scorer, int i, std::int64_t& counter) {
    const int from = rank(i) + 1;
    const int m = static_cast<int>(active_.size()) - from;
    if (m <= 0) {
        rows_.remove(i);
        return;
    }
    buf_left_.assign(m, i);
    buf_right_.assign(active_.begin() + from, active_.end());
    buf_score_.resize(m);
    scorer.score(buf_left_.data(), buf_right_.data(), m, buf_score_.data());
    counter += m;
    int best = 0;
    for (int k = 1; k < m; ++k) {
        if (buf_score_[k] < buf_score_[best]) best = k;
    }
    row_score_[i] = buf_score_[best];
    row_slot_[i] = buf_right_[best];
    row_node_[i] = node_at_[buf_right_[best]];
    rows_.set(i, row_score_[i]);
}

void Greedy::start(PairScorer& scorer, int threads) {
    if (done()) return;
    if (mode_ == PairMode::All && threads <= 1) {
        for (int i = 0; i < n_; ++i) scan_row(scorer, i, pairs_scored_);
        return;
    }
    if (mode_ == PairMode::All) {
        // Rows are independent: thread t takes rows t, t + threads, ... (row i
        // has n - 1 - i pairs, so interleaving balances the work).
        std::vector<std::thread> pool;
        std::exception_ptr error;
        std::mutex mutex;
        for (int t = 0; t < threads; ++t) {
            pool.emplace_back([&, t] {
                try {
                    std::vector<int> lefts, rights(n_);
                    std::vector<double> scores(n_);
                    for (int i = t; i + 1 < n_; i += threads) {
                        const int m = n_ - 1 - i;
                        lefts.assign(m, i);
                        for (int k = 0; k < m; ++k) rights[k] = i + 1 + k;
                        scorer.score(lefts.data(), rights.data(), m, scores.data());
                        const int best = static_cast<int>(
                            std::min_element(scores.begin(), scores.begin() + m) - scores.begin());
                        row_score_[i] = scores[best];
                        row_slot_[i] = rights[best];
                        row_node_[i] = rights[best];
                    }
                } catch (...) {
                    std::lock_guard<std::mutex> lock(mutex);
                    if (!error) error = std::current_exception();
                }
            });
        }
        for (std::thread& th : pool) th.join();
        if (error) std::rethrow_exception(error);
        for (int i = 0; i + 1 < n_; ++i) rows_.set(i, row_score_[i]);
        pairs_scored_ += static_cast<std::int64_t>(n_) * (n_ - 1) / 2;
        return;
    }
    initial_pairs(buf_left_, buf_right_);
    const int m = static_cast<int>(buf_left_.size());
    buf_score_.resize(m);
    scorer.score(buf_left_.data(), buf_right_.data(), m, buf_score_.data());
    pairs_scored_ += m;
    for (int k = 0; k < m; ++k) {
        queue_.push({buf_score_[k], buf_left_[k], buf_left_[k], buf_right_[k], buf_right_[k]});
    }
}

Step Greedy::step(PairScorer& scorer) {
    if (done()) throw std::logic_error("the tree is complete");
    Step s{};
    if (mode_ == PairMode::All) {
        while (true) {
            const int i = rows_.top();
            if (node_at_[row_slot_[i]] == row_node_[i]) {
                s.left_slot = i;
                s.right_slot = row_slot_[i];
                s.score = row_score_[i];
                break;
            }
            scan_row(scorer, i, pairs_rescored_);  // stale: the partner is gone
        }
        rows_.remove(s.left_slot);
        rows_.remove(s.right_slot);
    } else {
        while (true) {
            const Candidate c = queue_.top();
            queue_.pop();
            if (node_at_[c.left_slot] == c.left && node_at_[c.right_slot] == c.right) {
                s.left_slot = c.left_slot;
                s.right_slot = c.right_slot;
                s.score = c.score;
                break;
            }
        }
        const int after = next_[s.right_slot];
        next_[s.left_slot] = after;
        if (after >= 0) prev_[after] = s.left_slot;
    }
    s.left = node_at_[s.left_slot];
    s.right = node_at_[s.right_slot];
    s.node = n_ + steps_;
    node_at_[s.left_slot] = s.node;
    node_at_[s.right_slot] = -1;
    // the adjacent mode walks its linked list instead of active_
    if (mode_ == PairMode::All) active_.erase(active_.begin() + rank(s.right_slot));
    last_slot_ = s.left_slot;
    ++steps_;
    return s;
}

void Greedy::update(PairScorer& scorer) {
    new_pairs(buf_left_, buf_right_);
    const int m = static_cast<int>(buf_left_.size());
    if (m == 0) return;
    buf_score_.resize(m);
    scorer.score(buf_left_.data(), buf_right_.data(), m, buf_score_.data());
    pairs_scored_ += m;
    const int a = last_slot_;
    const std::int64_t node = node_at_[a];
    if (mode_ == PairMode::Adjacent) {
        for (int k = 0; k < m; ++k) {
            const int l = buf_left_[k], r = buf_right_[k];
            queue_.push({buf_score_[k], l, node_at_[l], node_at_[r], r});
        }
        return;
    }
    int best = -1;
    for (int k = 0; k < m; ++k) {
        const int l = buf_left_[k];
        const double sc = buf_score_[k];
        if (l != a) {
            // Row l gains the new node as a partner at slot a. A stale row keeps
            // its lower bound unless the new pair is strictly better.
            const bool valid = node_at_[row_slot_[l]] == row_node_[l];
            if (sc < row_score_[l] || (valid && sc == row_score_[l] && a < row_slot_[l])) {
                row_score_[l] = sc;
                row_slot_[l] = a;
                row_node_[l] = node;
                rows_.set(l, sc);
            }
        } else if (best < 0 || sc < buf_score_[best]) {
            best = k;
        }
    }
    if (best >= 0) {
        row_score_[a] = buf_score_[best];
        row_slot_[a] = buf_right_[best];
        row_node_[a] = node_at_[buf_right_[best]];
        rows_.set(a, row_score_[a]);
    }
}

}  // namespace greedy_rae
