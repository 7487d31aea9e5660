
mod engagement;
