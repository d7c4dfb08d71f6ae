using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Tally.Contracts;

namespace Tally.Benchmarks;

/// <summary>
/// A grain reference from its key, as the silo makes one per user grain called and per board shard asked: Orleans'
/// <c>GetGrain&lt;T&gt;(key)</c> against <see cref="GrainRefs"/>, which resolves the grain and interface types once.
/// A silo of its own on loopback (no grain is ever activated: only references are made), so both resolve the user
/// grain's type from the silo's manifest, as in production.
/// </summary>
[MemoryDiagnoser]
public class GrainRefsBenchmarks
{
    private IHost _host = null!;
    private IGrainFactory _grains = null!;

    [GlobalSetup]
    public void Setup()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.UseLocalhostClustering(siloPort: 21_111, gatewayPort: 31_111));
        _host = builder.Build();
        _host.Start();
        _grains = _host.Services.GetRequiredService<IGrainFactory>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _host.StopAsync().GetAwaiter().GetResult();
        _host.Dispose();
    }

    [Benchmark(Baseline = true)]
    public IUserGrain ByGetGrain() => _grains.GetGrain<IUserGrain>("bench/u1");

    [Benchmark]
    public IUserGrain ByGrainRefs() => _grains.Grain<IUserGrain>("bench/u1");
}
