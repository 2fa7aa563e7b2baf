#include "greedy_rae/batch.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>


namespace greedy_rae {

void run_batch(int count, int threads, const std::function<void(int)>& job,
               std::atomic<bool>& cancel, const std::function<bool()>& poll, int poll_ms) {
    if (count <= 0) return;
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = std::min(threads, count);

    std::atomic<int> next{0};
    std::mutex mutex;
    std::condition_variable finished;
    int running = threads;
    std::exception_ptr error;

    auto worker = [&] {
        try {
            for (int i = next++; i < count && !cancel.load(); i = next++) job(i);
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex);
            if (!error) error = std::current_exception();
            cancel = true;
        }
        std::lock_guard<std::mutex> lock(mutex);
        if (--running == 0) finished.notify_all();
    };

    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);

    bool cancelled_by_poll = false;
    {
        std::unique_lock<std::mutex> lock(mutex);
        while (running > 0) {
            finished.wait_for(lock, std::chrono::milliseconds(poll_ms));
            if (running == 0 || cancelled_by_poll) continue;
            lock.unlock();
            const bool go_on = poll();
            lock.lock();
            if (!go_on) {
                cancelled_by_poll = true;
                cancel = true;
            }
        }
    }
    for (std::thread& t : pool) t.join();
    if (error && !cancelled_by_poll) std::rethrow_exception(error);
    if (cancelled_by_poll) throw Cancelled();
}

void build_batch(const Network& network, PairMode mode, std::vector<BatchItem>& items, int threads,
                 std::atomic<std::int64_t>& merged, const std::function<bool()>& poll) {
    const int count = static_cast<int>(items.size());
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int scan_threads = std::max(1, (threads > 0 ? threads : hw) / std::max(1, count));
    std::atomic<bool> cancel{false};
    auto job = [&](int t) {
        BatchItem& it = items[t];
        it.stats = build(network, mode, it.n, it.embeddings, it.merges, it.scores, &cancel, &merged,
                         scan_threads);
    };
    run_batch(count, threads, job, cancel, poll);
}

}  // namespace greedy_rae
