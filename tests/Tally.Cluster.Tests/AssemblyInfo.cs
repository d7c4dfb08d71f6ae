using Xunit;

// Each test class deploys its own cluster; silos read the fixture's database and clock from statics.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
