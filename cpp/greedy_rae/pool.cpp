#include "greedy_rae/pool.hpp"

#include <algorithm>
#include <thread>

#include <chrono>

namespace greedy_rae {

WorkerPool::WorkerPool(int helpers) {
    for (int t = 0; t < helpers; ++t) helpers_.emplace_back([this] { help(); });
}

WorkerPool::~WorkerPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : helpers_) t.join();
}

void WorkerPool::work() {
    for (int p = next_++; p < parts_; p = next_++) {
        if (cancel_ != nullptr && cancel_->load()) break;
        try {
            (*job_)(p);
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
            if (cancel_ != nullptr) *cancel_ = true;
        }
    }
}

void WorkerPool::help() {
    std::uint64_t seen = 0;
    while (true) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
        }
        work();
        std::lock_guard<std::mutex> lock(mutex_);
        if (--busy_ == 0) finished_.notify_one();
    }
}

void WorkerPool::start(int parts, const std::function<void(int)>& fn, std::atomic<bool>* cancel) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        job_ = &fn;
        parts_ = parts;
        next_ = 0;
        busy_ = static_cast<int>(helpers_.size());
        error_ = nullptr;
        cancel_ = cancel;
        ++generation_;
    }
    wake_.notify_all();
}

void WorkerPool::run(int parts, const std::function<void(int)>& fn) {
    start(parts, fn, nullptr);
    work();
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [&] { return busy_ == 0; });
    if (error_) std::rethrow_exception(error_);
}

void WorkerPool::run_watched(int parts, const std::function<void(int)>& fn,
                             std::atomic<bool>& cancel, const std::function<bool()>& poll,
                             int poll_ms) {
    if (helpers_.empty()) throw std::logic_error("run_watched needs at least one helper");
    start(parts, fn, &cancel);
    bool cancelled_by_poll = false;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        while (busy_ > 0) {
            finished_.wait_for(lock, std::chrono::milliseconds(poll_ms));
            if (busy_ == 0 || cancelled_by_poll) continue;
            lock.unlock();
            const bool go_on = poll();
            lock.lock();
            if (!go_on) {
                cancelled_by_poll = true;
                cancel = true;
            }
        }
    }
    cancel_ = nullptr;
    if (cancelled_by_poll) throw Cancelled();
    if (error_) std::rethrow_exception(error_);
}

void run_batch(int count, int threads, const std::function<void(int)>& job,
               std::atomic<bool>& cancel, const std::function<bool()>& poll, int poll_ms) {
    if (count <= 0) return;
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    WorkerPool pool(std::min(threads, count));
    pool.run_watched(count, job, cancel, poll, poll_ms);
}

}  // namespace greedy_rae
