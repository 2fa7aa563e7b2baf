#include "greedy_rae/heap.hpp"

namespace greedy_rae {

IndexedHeap::IndexedHeap(int n) : pos_(n, -1), key_(n, 0.0) {
    heap_.reserve(n);
}

void IndexedHeap::set(int i, double key) {
    if (pos_[i] < 0) {
        key_[i] = key;
        heap_.push_back(i);
        pos_[i] = static_cast<int>(heap_.size()) - 1;
        up(pos_[i]);
        return;
    }
    const double old = key_[i];
    key_[i] = key;
    if (key < old) {
        up(pos_[i]);
    } else {
        down(pos_[i]);
    }
}

void IndexedHeap::remove(int i) {
    const int p = pos_[i];
    if (p < 0) return;
    const int last = heap_.back();
    heap_.pop_back();
    pos_[i] = -1;
    if (last == i) return;
    place(p, last);
    up(p);
    down(pos_[last]);
}

void IndexedHeap::up(int p) {
    const int i = heap_[p];
    while (p > 0) {
        const int parent = (p - 1) / 2;
        if (!less(i, heap_[parent])) break;
        place(p, heap_[parent]);
        p = parent;
    }
    place(p, i);
}

void IndexedHeap::down(int p) {
    const int n = static_cast<int>(heap_.size());
    const int i = heap_[p];
    while (true) {
        int child = 2 * p + 1;
        if (child >= n) break;
        if (child + 1 < n && less(heap_[child + 1], heap_[child])) ++child;
        if (!less(heap_[child], i)) break;
        place(p, heap_[child]);
        p = child;
    }
    place(p, i);
}

}  // namespace greedy_rae
