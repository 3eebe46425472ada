//! Integrated Gradients, gradient and input x gradient, with straight-line paths.
