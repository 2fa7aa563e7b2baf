// Indexed binary min-heap over the integers 0..n-1, keyed by (score, index):
// equal scores pop the smallest index first, which is what gives the greedy
// builder its "ties go to the earliest pair" rule.
#pragma once

#include <cstdint>
#include <vector>

namespace greedy_rae {

class IndexedHeap {
public:
    explicit IndexedHeap(int n = 0);

    bool empty() const { return heap_.empty(); }
    int size() const { return static_cast<int>(heap_.size()); }
    bool contains(int i) const { return pos_[i] >= 0; }
    int top() const { return heap_.front(); }
    double key(int i) const { return key_[i]; }

    // Bytes the heap keeps for each of its n integers.
    static constexpr std::int64_t bytes_per_item() {
        return 2 * static_cast<std::int64_t>(sizeof(int)) +
               static_cast<std::int64_t>(sizeof(double));
    }

    // Inserts i, or changes its key when it is already in the heap.
    void set(int i, double key);
    void remove(int i);

private:
    bool less(int a, int b) const { return key_[a] < key_[b] || (key_[a] == key_[b] && a < b); }
    void up(int p);
    void down(int p);
    void place(int p, int i) {
        heap_[p] = i;
        pos_[i] = p;
    }

    std::vector<int> heap_;
    std::vector<int> pos_;  // position in heap_, -1 when absent
    std::vector<double> key_;
};

}  // namespace greedy_rae
