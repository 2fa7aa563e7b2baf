#include "greedy_rae/all_pairs.hpp"

#include <algorithm>
#include <limits>

#include "greedy_rae/pool.hpp"

namespace greedy_rae {

AllPairs::AllPairs(int n)
    : Engine(n),
      active_(n),
      list_(static_cast<std::size_t>(n) * kRow),
      list_len_(n, 0),
      limit_score_(n, 0.0),
      limit_slot_(n, 0),
      rows_(n) {
    if (n >= (1 << 30)) throw std::invalid_argument("a sequence may have at most 2^30 - 1 leaves");
    for (int i = 0; i < n; ++i) active_[i] = i;
}

std::int64_t AllPairs::bytes(std::int64_t n, int threads) {
    // a row: its active slot, kRow partners, list length, limit score and
    // slot, and its heap entries; the first scan's slot numbers, and a block's
    // errors (kBlock x kChunk floats) for each of its threads
    const std::int64_t row = sizeof(int) + kRow * sizeof(Partner) + sizeof(int) + sizeof(double) +
                             sizeof(int) + IndexedHeap::bytes_per_item();
    const std::int64_t scan = static_cast<std::int64_t>(threads) * kBlock * kChunk * sizeof(float);
    return n * (row + sizeof(int)) + scan;
}

int AllPairs::rank(int slot) const {
    return static_cast<int>(std::lower_bound(active_.begin(), active_.end(), slot) -
                            active_.begin());
}

void AllPairs::initial_pairs(std::vector<int>& lefts, std::vector<int>& rights) const {
    lefts.clear();
    rights.clear();
    for (int i = 0; i < n_; ++i) {
        for (int j = i + 1; j < n_; ++j) {
            lefts.push_back(i);
            rights.push_back(j);
        }
    }
}

void AllPairs::new_pairs(std::vector<int>& lefts, std::vector<int>& rights) const {
    lefts.clear();
    rights.clear();
    if (steps_ == 0 || done()) return;
    const int a = last_slot_;
    for (int x : active_) {
        if (x == a) continue;
        lefts.push_back(std::min(x, a));
        rights.push_back(std::max(x, a));
    }
}

void AllPairs::lower_limit(int i, double score, int slot) {
    if (before(score, slot, limit_score_[i], limit_slot_[i])) {
        limit_score_[i] = score;
        limit_slot_[i] = slot;
    }
}

void AllPairs::offer(int i, const Partner& p) {
    Partner* list = &list_[static_cast<std::size_t>(i) * kRow];
    int& len = list_len_[i];
    int k = len;
    if (len == kRow) {
        // most offers lose to the last entry: check that first
        const Partner& last = list[kRow - 1];
        if (!before(p.score, p.slot, last.score, last.slot)) {
            lower_limit(i, p.score, p.slot);
            return;
        }
        // the last entry falls off; a dead one bounds nothing
        if (alive(last)) lower_limit(i, last.score, last.slot);
        k = kRow - 1;
    } else {
        ++len;
    }
    while (k > 0 && before(p.score, p.slot, list[k - 1].score, list[k - 1].slot)) {
        list[k] = list[k - 1];
        --k;
    }
    list[k] = p;
}

void AllPairs::offer_error(int i, int j, float e) {
    const double score = full_score(e, score_[i], score_[j]);
    if (list_len_[i] == kRow) {
        // most pairs of a scan lose to the last entry: no need to go further
        const Partner& last = list_[static_cast<std::size_t>(i) * kRow + kRow - 1];
        if (!before(score, j, last.score, last.slot)) {
            lower_limit(i, score, j);
            return;
        }
    }
    offer(i, {score, j, static_cast<std::int32_t>(node_at_[j])});
}

void AllPairs::fill_row(int i, const int* rights, const float* errors, int m, bool reset) {
    if (reset) {
        list_len_[i] = 0;
        limit_score_[i] = std::numeric_limits<double>::infinity();
        limit_slot_[i] = std::numeric_limits<int>::max();
    }
    int k = 0;
    for (; k < m && list_len_[i] < kRow; ++k) offer_error(i, rights[k], errors[k]);
    if (k == m) return;
    // The list is full and most pairs lose to its last entry: that test
    // alone, in registers, with the lowest loser kept aside for the limit.
    const double si = score_[i];
    const double* score = score_.data();
    const Partner& last = list_[static_cast<std::size_t>(i) * kRow + kRow - 1];
    double last_score = last.score;
    int last_slot = last.slot;
    double low_score = std::numeric_limits<double>::infinity();
    int low_slot = std::numeric_limits<int>::max();
    for (; k < m; ++k) {
        const int j = rights[k];
        const double s = full_score(errors[k], si, score[j]);
        if (!before(s, j, last_score, last_slot)) {
            if (before(s, j, low_score, low_slot)) {
                low_score = s;
                low_slot = j;
            }
            continue;
        }
        offer(i, {s, j, static_cast<std::int32_t>(node_at_[j])});
        last_score = last.score;
        last_slot = last.slot;
    }
    lower_limit(i, low_score, low_slot);
}

void AllPairs::score_row(PairScorer& scorer, int i, int m, std::int64_t& counter) {
    buf_left_.assign(m, i);
    buf_error_.resize(m);
    errors(scorer, buf_left_.data(), buf_right_.data(), m, buf_error_.data());
    counter += m;
}

void AllPairs::scan_row(PairScorer& scorer, int i, std::int64_t& counter) {
    const int from = rank(i) + 1;
    const int m = static_cast<int>(active_.size()) - from;
    if (m <= 0) {
        rows_.remove(i);
        return;
    }
    buf_right_.assign(active_.begin() + from, active_.end());
    if (m <= 2 * kRow || !scorer.costly()) {
        score_row(scorer, i, m, counter);
        fill_row(i, buf_right_.data(), buf_error_.data(), m, true);
        rows_.set(i, list_[static_cast<std::size_t>(i) * kRow].score);
        return;
    }
    // A pair's score is at least its bound score(i) + score(j). Score the
    // 2 kRow partners with the lowest bounds first; the row's kRow-th best
    // score then is a threshold that a pair whose bound is past it cannot
    // beat, so only the pairs at or under it are scored, and the lowest
    // skipped bound becomes the row's limit.
    const double si = score_[i];
    const int first = 2 * kRow;
    std::nth_element(buf_right_.begin(), buf_right_.begin() + first, buf_right_.end(),
                     [&](int a, int b) { return score_[a] < score_[b]; });
    score_row(scorer, i, first, counter);
    fill_row(i, buf_right_.data(), buf_error_.data(), first, true);
    // the list is full (first > kRow): its last entry is the threshold
    const double threshold = list_[static_cast<std::size_t>(i) * kRow + kRow - 1].score;
    double skipped = std::numeric_limits<double>::infinity();
    int kept = 0;
    for (int k = first; k < m; ++k) {
        const int j = buf_right_[k];
        const double bound = si + score_[j];
        if (bound > threshold) {
            skipped = std::min(skipped, bound);
        } else {
            buf_right_[kept++] = j;
        }
    }
    if (kept > 0) score_row(scorer, i, kept, counter);
    for (int k = 0; k < kept; ++k) offer_error(i, buf_right_[k], buf_error_[k]);
    // every skipped pair scores at least `skipped`, past every entry
    lower_limit(i, skipped, -1);
    rows_.set(i, list_[static_cast<std::size_t>(i) * kRow].score);
}

void AllPairs::start_block(PairScorer& scorer, int b, const int* slots, std::vector<int>& lefts,
                           std::vector<float>& errors) {
    // Row i0 + r pairs with every slot after it: the few inside the block
    // (scored row by row), then the slots after the block, for all the
    // block's rows at once, a chunk of kChunk slots at a time.
    const int i0 = b * kBlock, rows = std::min(kBlock, n_ - i0), after = i0 + rows;
    int block_lefts[kBlock];
    float* out[kBlock];
    for (int r = 0; r < rows; ++r) {
        const int i = i0 + r, inside = after - i - 1;
        block_lefts[r] = i;
        out[r] = &errors[static_cast<std::size_t>(r) * kChunk];
        lefts.assign(inside, i);
        if (inside > 0) scorer.errors(lefts.data(), slots + i + 1, inside, count_.data(), out[r]);
        fill_row(i, slots + i + 1, out[r], inside, true);
    }
    for (int from = after; from < n_; from += kChunk) {
        const int m = std::min(kChunk, n_ - from);
        scorer.row_block(block_lefts, rows, slots + from, m, count_.data(), out);
        for (int r = 0; r < rows; ++r) fill_row(i0 + r, slots + from, out[r], m, false);
    }
}

void AllPairs::start(PairScorer& scorer, int threads) {
    if (done()) return;
    // Rows are independent: thread t takes the blocks of rows t, t + threads,
    // ... (row i has n - 1 - i pairs, so interleaving balances the work).
    // Each thread scores its rows itself (no call is split across threads
    // until this is done).
    const int blocks = (n_ + kBlock - 1) / kBlock;
    threads = std::max(1, std::min(threads, blocks));
    std::vector<int> slots(n_);  // 0, 1, ..., n - 1: every slot is still occupied
    for (int i = 0; i < n_; ++i) slots[i] = i;
    auto work = [&](int t) {
        std::vector<int> lefts;
        std::vector<float> errors(static_cast<std::size_t>(kBlock) * kChunk);
        for (int b = t; b < blocks; b += threads)
            start_block(scorer, b, slots.data(), lefts, errors);
    };
    if (threads == 1) {
        work(0);
    } else {
        // the helpers stay for the scans after each merge
        pool_ = std::make_unique<WorkerPool>(threads - 1);
        pool_->run(threads, work);
    }
    for (int i = 0; i + 1 < n_; ++i) rows_.set(i, list_[static_cast<std::size_t>(i) * kRow].score);
    pairs_scored_ += static_cast<std::int64_t>(n_) * (n_ - 1) / 2;
}

Step AllPairs::step(PairScorer& scorer) {
    if (done()) throw std::logic_error("the tree is complete");
    Step s{};
    while (true) {
        const int i = rows_.top();
        Partner* list = &list_[static_cast<std::size_t>(i) * kRow];
        int& len = list_len_[i];
        int dead = 0;
        while (dead < len && !alive(list[dead])) ++dead;
        if (dead > 0) {
            std::copy(list + dead, list + len, list);
            len -= dead;
        }
        if (len == 0 || !before(list[0].score, list[0].slot, limit_score_[i], limit_slot_[i])) {
            // Nothing certain is left: every pair of the row is at or after
            // its limit. Let the row sink to its limit first; it is
            // rescanned only if it comes back to the top there (it may be
            // merged, or get a new node's pair, before that).
            if (rows_.key(i) < limit_score_[i]) {
                rows_.set(i, limit_score_[i]);
            } else {
                scan_row(scorer, i, pairs_rescored_);
            }
            continue;
        }
        if (list[0].score != rows_.key(i)) {
            rows_.set(i, list[0].score);  // the key only grew: look again
            continue;
        }
        s.left_slot = i;
        s.right_slot = list[0].slot;
        s.score = list[0].score;
        break;
    }
    rows_.remove(s.left_slot);
    rows_.remove(s.right_slot);
    active_.erase(active_.begin() + rank(s.right_slot));
    apply(s);
    return s;
}

void AllPairs::update(PairScorer& scorer) {
    if (steps_ == 0 || done()) return;
    const int a = last_slot_;
    const std::int64_t node = node_at_[a];

    // Rows x < a gain the pair (x, a). Its score is at least score(x) +
    // score(a) (errors are never negative); when that is past the row's
    // limit the pair cannot enter the row's list and is not scored now (a
    // rescan of the row, if it comes, will score it).
    buf_left_.clear();
    buf_right_.clear();
    const double sa = score_[a];
    for (int x : active_) {
        if (x >= a) break;
        const double bound = score_[x] + sa;
        if (bound > limit_score_[x]) continue;
        const Partner& last = list_[static_cast<std::size_t>(x) * kRow + kRow - 1];
        if (list_len_[x] == kRow && bound > last.score) {
            // every entry stays ahead of the pair: lowering the limit to its
            // bound keeps them all certain
            limit_score_[x] = bound;
            limit_slot_[x] = -1;
            continue;
        }
        buf_left_.push_back(x);
        buf_right_.push_back(a);
    }
    const int m = static_cast<int>(buf_left_.size());
    if (m > 0) score_buffer(scorer, pairs_scored_);
    for (int k = 0; k < m; ++k) {
        const int x = buf_left_[k];
        offer(x, {buf_score_[k], a, static_cast<std::int32_t>(node)});
        const double front = list_[static_cast<std::size_t>(x) * kRow].score;
        if (front < rows_.key(x)) rows_.set(x, front);
    }
    // The new node's own row: every active slot after a.
    scan_row(scorer, a, pairs_scored_);
}

}  // namespace greedy_rae
