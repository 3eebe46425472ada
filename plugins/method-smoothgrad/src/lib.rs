//! SmoothGrad, SmoothGrad-squared and VarGrad over any method.
