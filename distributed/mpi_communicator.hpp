#pragma once
// Communicator over MPI_COMM_WORLD. Compiled into the library only when CMake found MPI
// (then UNROLL_HAVE_MPI is defined for every target linking unroll); this header does not
// include <mpi.h>, so users need no MPI flags of their own.

#include "distributed/communicator.hpp"

namespace unroll::distributed {

/// MPI_COMM_WORLD as a Communicator. The first one constructed calls MPI_Init and its
/// destructor MPI_Finalize; one per process. MPI errors become std::runtime_error naming the
/// call and MPI's message (MPI_ERRORS_RETURN), so the caller can report and abort().
class MpiCommunicator : public Communicator {
 public:
  /// MPI_Init(argc, argv) unless MPI is already initialised. Throws std::logic_error if
  /// another MpiCommunicator exists.
  MpiCommunicator(int* argc, char*** argv);
  /// MPI_Finalize if this object initialised MPI (a collective: every rank must get here).
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  /// MPI_Comm_rank of MPI_COMM_WORLD.
  int rank() const override { return rank_; }
  /// MPI_Comm_size of MPI_COMM_WORLD.
  int size() const override { return size_; }
  /// MPI_Allreduce(MPI_IN_PLACE, MPI_FLOAT) (split into chunks below INT_MAX elements).
  void allreduce(float* data, std::size_t n, ReduceOp op) override;
  /// MPI_Allreduce(MPI_IN_PLACE, MPI_DOUBLE).
  void allreduce(double* data, std::size_t n, ReduceOp op) override;
  /// MPI_Bcast of floats from `root`.
  void broadcast(float* data, std::size_t n, int root) override;
  /// MPI_Allgatherv of floats in rank order.
  void allgather(const float* send, float* recv, const std::vector<std::size_t>& counts) override;
  /// MPI_Barrier.
  void barrier() override;
  /// MPI_Abort(MPI_COMM_WORLD, code): the launcher ends every rank.
  [[noreturn]] void abort(int code) override;

 private:
  int rank_ = 0, size_ = 1;
  bool initialised_here_ = false;
};

}  // namespace unroll::distributed
