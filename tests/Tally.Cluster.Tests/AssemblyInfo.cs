using Xunit;

// Collections run in parallel: the shared cluster's tests beside the tests without a cluster. The collection of
// tests with a cluster each (ClusterOfItsOwnCollection) runs alone.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
