#include "distributed/communicator.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace unroll::distributed {

void LocalCommunicator::broadcast(float*, std::size_t, int root) {
  if (root != 0)
    throw std::invalid_argument("broadcast: root " + std::to_string(root) +
                                " does not exist in a group of one process (expected 0)");
}

void LocalCommunicator::allgather(const float* send, float* recv,
                                  const std::vector<std::size_t>& counts) {
  if (counts.size() != 1)
    throw std::invalid_argument("allgather: " + std::to_string(counts.size()) +
                                " counts for a group of one process (expected 1)");
  std::copy(send, send + counts[0], recv);
}

void LocalCommunicator::abort(int code) {
  std::exit(code);
}

int launcher_world_size() {
  // Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; MPICH's hydra (and Intel MPI) PMI_SIZE.
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    if (const char* v = std::getenv(var)) {
      char* end = nullptr;
      const long n = std::strtol(v, &end, 10);
      if (end != v && *end == '\0' && n > 0) return static_cast<int>(n);
    }
  }
  return 0;
}

}  // namespace unroll::distributed
