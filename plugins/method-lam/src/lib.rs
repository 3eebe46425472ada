//! Local Attribution Maps: the progressive-blur path and LAM.
