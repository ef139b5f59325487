#include "distributed/mpi_communicator.hpp"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace unroll::distributed {

namespace {

bool g_alive = false;  // one MpiCommunicator per process: MPI_Init may be called only once

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw std::runtime_error(std::string(call) + " failed: " + std::string(msg, len));
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Min:
      return MPI_MIN;
    case ReduceOp::Max:
      return MPI_MAX;
    case ReduceOp::Sum:
      break;
  }
  return MPI_SUM;
}

// MPI counts are int: larger buffers go in INT_MAX-sized pieces.
template <class T>
void allreduce_chunked(T* data, std::size_t n, MPI_Datatype type, MPI_Op op) {
  while (n > 0) {
    const std::size_t m = std::min<std::size_t>(n, INT_MAX);
    check(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(m), type, op, MPI_COMM_WORLD),
          "MPI_Allreduce");
    data += m;
    n -= m;
  }
}

}  // namespace

MpiCommunicator::MpiCommunicator(int* argc, char*** argv) {
  if (g_alive) throw std::logic_error("MpiCommunicator: only one may exist per process");
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    check(MPI_Init(argc, argv), "MPI_Init");
    initialised_here_ = true;
  }
  g_alive = true;
  // Errors come back as codes (then exceptions) instead of killing the job silently, so the
  // failing rank can say what went wrong before it aborts.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiCommunicator::~MpiCommunicator() {
  g_alive = false;
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (initialised_here_ && !finalised) MPI_Finalize();
}

void MpiCommunicator::allreduce(float* data, std::size_t n, ReduceOp op) {
  allreduce_chunked(data, n, MPI_FLOAT, mpi_op(op));
}

void MpiCommunicator::allreduce(double* data, std::size_t n, ReduceOp op) {
  allreduce_chunked(data, n, MPI_DOUBLE, mpi_op(op));
}

void MpiCommunicator::broadcast(float* data, std::size_t n, int root) {
  while (n > 0) {
    const std::size_t m = std::min<std::size_t>(n, INT_MAX);
    check(MPI_Bcast(data, static_cast<int>(m), MPI_FLOAT, root, MPI_COMM_WORLD), "MPI_Bcast");
    data += m;
    n -= m;
  }
}

void MpiCommunicator::allgather(const float* send, float* recv,
                                const std::vector<std::size_t>& counts) {
  if (counts.size() != static_cast<std::size_t>(size_))
    throw std::invalid_argument("allgather: " + std::to_string(counts.size()) + " counts for " +
                                std::to_string(size_) + " ranks");
  std::vector<int> c(counts.size()), displ(counts.size());
  std::size_t total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    if (counts[r] > INT_MAX || total > INT_MAX)
      throw std::invalid_argument("allgather: more than INT_MAX floats");
    c[r] = static_cast<int>(counts[r]);
    displ[r] = static_cast<int>(total);
    total += counts[r];
  }
  check(MPI_Allgatherv(send, c[static_cast<std::size_t>(rank_)], MPI_FLOAT, recv, c.data(),
                       displ.data(), MPI_FLOAT, MPI_COMM_WORLD),
        "MPI_Allgatherv");
}

void MpiCommunicator::barrier() {
  check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void MpiCommunicator::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);  // MPI_Abort does not return in practice; [[noreturn]] needs certainty
}

}  // namespace unroll::distributed
