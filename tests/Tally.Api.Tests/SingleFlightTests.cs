using Shouldly;
using Tally.Api.Http;
using Xunit;

namespace Tally.Api.Tests;

public class SingleFlightTests
{
    [Fact]
    public async Task callers_during_a_run_share_it_and_the_next_caller_starts_a_new_one()
    {
        var flight = new SingleFlight();
        var release = new TaskCompletionSource();
        var runs = 0;
        async Task<byte[]> Work()
        {
            var run = Interlocked.Increment(ref runs);
            await release.Task;
            return [(byte)run];
        }

        var callers = Enumerable.Range(0, 8).Select(_ => flight.RunAsync("page", Work)).ToArray();
        var other = flight.RunAsync("other page", Work);
        release.SetResult();
        (await Task.WhenAll(callers)).ShouldAllBe(r => r.SequenceEqual(callers[0].Result));
        await other;
        runs.ShouldBe(2);

        // The run is over: the next caller does the work again.
        (await flight.RunAsync("page", Work))[0].ShouldBe((byte)3);
    }

    [Fact]
    public async Task a_failed_run_fails_its_callers_and_is_not_remembered()
    {
        var flight = new SingleFlight();
        await Should.ThrowAsync<InvalidOperationException>(() => flight.RunAsync("page", () => throw new InvalidOperationException("down")));
        (await flight.RunAsync("page", () => Task.FromResult(new byte[] { 7 })))[0].ShouldBe((byte)7);
    }
}
