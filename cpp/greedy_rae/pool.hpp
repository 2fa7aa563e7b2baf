// The core's thread pool: helper threads that stay alive between jobs. An
// engine makes one for its first scan when given threads, and a batch build one
// for its sequences: the first scan of a batch's sequence runs inside a batch
// worker, so one shared pool would have to run jobs inside its own jobs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "greedy_rae/errors.hpp"

namespace greedy_rae {

// Threads that stay alive between jobs: work split many times a second
// (starting a thread per job would cost about as much as the job), the first
// scan of all pairs, and the sequences of a batch build (run_watched).
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
    // Runs fn(p) for every p in [0, parts) on the helpers alone, while the
    // calling thread calls poll() about every poll_ms milliseconds. When
    // poll() returns false, `cancel` is raised (parts not started are
    // skipped; running ones may watch the flag) and Cancelled is thrown once
    // the helpers are idle. The first exception of a part raises `cancel`
    // too and is rethrown.
    void run_watched(int parts, const std::function<void(int)>& fn, std::atomic<bool>& cancel,
                     const std::function<bool()>& poll, int poll_ms);

private:
    // Hands the helpers a new job: fn(p) for p in [0, parts), watching `cancel` if given.
    void start(int parts, const std::function<void(int)>& fn, std::atomic<bool>* cancel);
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
    std::atomic<bool>* cancel_ = nullptr;  // run_watched's flag, else none
};

// Runs job(i) for every i in [0, count) on up to `threads` worker threads
// (0: one per hardware thread). The calling thread calls poll() about every
// poll_ms milliseconds until all jobs are done; when poll() returns false the
// cancel flag is raised and Cancelled is thrown once the workers have stopped.
// The first exception thrown by a job raises the flag too and is rethrown.
void run_batch(int count, int threads, const std::function<void(int)>& job,
               std::atomic<bool>& cancel, const std::function<bool()>& poll, int poll_ms = 50);

}  // namespace greedy_rae
