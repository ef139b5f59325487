#pragma once
// The few collective operations data-parallel training needs, behind a narrow interface
// that does not mention MPI: the trainer and the tests use it whether or not the library
// was built with MPI. MpiCommunicator (distributed/mpi_communicator.hpp, only in builds with
// UNROLL_HAVE_MPI) implements it over MPI_COMM_WORLD; LocalCommunicator is one process.

#include <cstddef>
#include <vector>

namespace unroll::distributed {

/// Element-wise reduction applied by Communicator::allreduce.
enum class ReduceOp { Sum, Min, Max };

/// A fixed group of processes (ranks 0 .. size()-1) that run the same program. Every
/// collective must be called by every rank, in the same order, with the same n.
class Communicator {
 public:
  virtual ~Communicator() = default;
  /// This process's index, 0 .. size() - 1. Rank 0 is the one that prints and writes files.
  virtual int rank() const = 0;
  /// Number of processes in the group.
  virtual int size() const = 0;
  /// data[i] = op over all ranks of data[i], in place, the same result on every rank.
  virtual void allreduce(float* data, std::size_t n, ReduceOp op) = 0;
  /// data[i] = op over all ranks of data[i] (double precision), in place.
  virtual void allreduce(double* data, std::size_t n, ReduceOp op) = 0;
  /// Copies `root`'s data[0..n) into every rank's data.
  virtual void broadcast(float* data, std::size_t n, int root) = 0;
  /// Concatenation in rank order: rank r contributes counts[r] floats from `send`, and every
  /// rank receives all sum(counts) of them in `recv`. counts has size() entries.
  virtual void allgather(const float* send, float* recv,
                         const std::vector<std::size_t>& counts) = 0;
  /// Waits until every rank has reached this call.
  virtual void barrier() = 0;
  /// Ends every rank of the job with exit status `code` (MPI_Abort); never returns.
  [[noreturn]] virtual void abort(int code) = 0;
  /// Whether this is rank 0.
  bool is_root() const { return rank() == 0; }
};

/// A group of one process: every collective leaves its data as it is (the sum over one rank),
/// allgather copies, abort calls std::exit. For tests and non-MPI code paths.
class LocalCommunicator : public Communicator {
 public:
  /// Always 0.
  int rank() const override { return 0; }
  /// Always 1.
  int size() const override { return 1; }
  /// Identity.
  void allreduce(float*, std::size_t, ReduceOp) override {}
  /// Identity.
  void allreduce(double*, std::size_t, ReduceOp) override {}
  /// Identity (root must be 0).
  void broadcast(float*, std::size_t, int root) override;
  /// Copies counts[0] floats from send to recv.
  void allgather(const float* send, float* recv, const std::vector<std::size_t>& counts) override;
  /// Returns at once.
  void barrier() override {}
  /// std::exit(code).
  [[noreturn]] void abort(int code) override;
};

/// The number of processes an MPI launcher (mpirun/mpiexec of Open MPI or MPICH) started
/// this one among, read from its environment variables; 0 when the process
/// was not started by such a launcher. Needs no MPI, so a build without MPI can refuse to run
/// as one of several identical copies.
int launcher_world_size();

}  // namespace unroll::distributed
