// Stand-in for a header that Debian's libtorch-dev 1.13 does not ship but c10d/reducer.hpp includes.
// The Reducer only holds a shared_ptr to this class and names its GradCallback type (the same
// std::function as in torch/csrc/distributed/autograd/context/context.h); neither changes the
// Reducer's layout, and fmboost never calls the distributed-autograd paths. The include path puts
// libtorch's own headers first, so a libtorch that has the real file uses it.
#pragma once
#include <functional>
#include <memory>
#include <ATen/core/Tensor.h>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
