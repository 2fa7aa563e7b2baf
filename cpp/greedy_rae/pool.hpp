// A small pool of helper threads for work that is split many times a second.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace greedy_rae {

// Threads that stay alive between small jobs, for work split many times a
// second (starting a thread per job would cost about as much as the job).
class WorkerPool {
public:
    explicit WorkerPool(int helpers);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;
    int threads() const { return static_cast<int>(helpers_.size()) + 1; }
    // Runs fn(p) for every p in [0, parts) on the helpers and the calling
    // thread; returns when all are done and rethrows the first exception.
    void run(int parts, const std::function<void(int)>& fn);

private:
    void work();
    void help();

    std::vector<std::thread> helpers_;
    std::mutex mutex_;
    std::condition_variable wake_, finished_;
    const std::function<void(int)>* job_ = nullptr;
    int parts_ = 0;
    std::atomic<int> next_{0};
    int busy_ = 0;  // helpers still on the current job
    std::uint64_t generation_ = 0;
    bool stop_ = false;
    std::exception_ptr error_;
};

}  // namespace greedy_rae
