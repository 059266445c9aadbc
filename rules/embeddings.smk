# Neuron embeddings, feature clusters and SAEs with the neuron-embedding loss (NE paper).
