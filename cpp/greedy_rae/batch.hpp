// Runs independent jobs on worker threads while the calling thread stays free
// to watch for cancellation and report progress.
#pragma once

#include <atomic>
#include <functional>

namespace greedy_rae {

// Runs job(i) for every i in [0, count) on up to `threads` worker threads
// (0: one per hardware thread). The calling thread calls poll() about every
// poll_ms milliseconds until all jobs are done; when poll() returns false the
// cancel flag is raised and Cancelled is thrown once the workers have stopped.
// The first exception thrown by a job raises the flag too and is rethrown.
void run_batch(int count, int threads, const std::function<void(int)>& job,
               std::atomic<bool>& cancel, const std::function<bool()>& poll, int poll_ms = 50);

}  // namespace greedy_rae
