//! Attribution maps to numbers and pictures: DI, Gini, colormaps, KDE, HTML.
