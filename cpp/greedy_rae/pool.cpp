#include "greedy_rae/pool.hpp"

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
        try {
            (*job_)(p);
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
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

void WorkerPool::run(int parts, const std::function<void(int)>& fn) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        job_ = &fn;
        parts_ = parts;
        next_ = 0;
        busy_ = static_cast<int>(helpers_.size());
        error_ = nullptr;
        ++generation_;
    }
    wake_.notify_all();
    work();
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [&] { return busy_ == 0; });
    if (error_) std::rethrow_exception(error_);
}

}  // namespace greedy_rae
