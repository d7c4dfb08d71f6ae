using Shouldly;
using Tally.Cli.Verify;
using Xunit;

namespace Tally.Cli.Tests;

/// <summary><c>tally verify report --bounds</c>: each recovery bound of a sick silo, from the workload's requests.</summary>
[Collection("console")]
public class VerifyBoundsTests
{
    private const long Start = 1_700_000_000_000;
    private static readonly RecoveryBounds Bounds = new(AnswerMs: 2500, SliceSeconds: 5, ResumeSeconds: 20, DeadSeconds: 15);

    // A 40 s pause, declared dead after 12 s, all silos active again at +55 s.
    private static readonly FaultWindow Pause = new("silo 2 paused", 11192, Start, Start + 40_000, Start + 55_000, Start + 12_000);

    /// <summary>An ingest answered every 500 ms from 5 s before the fault to 60 s after it: 200, 20 accepted, 300 ms.</summary>
    private static List<VerifyRequest> Healthy() =>
        Enumerable.Range(-10, 130).Select(i => new VerifyRequest(Start + i * 500L, "ingest", 200, 300, 20, 0)).ToList();

    private static BoundCheck Check(List<VerifyRequest> requests, string boundStart, FaultWindow? fault = null) =>
        VerifyBounds.Evaluate(fault ?? Pause, requests, Bounds).Single(c => c.Bound.StartsWith(boundStart, StringComparison.Ordinal));

    [Fact]
    public void a_fault_kept_within_every_bound_passes()
    {
        var requests = Healthy();
        requests.Add(new VerifyRequest(Start + 19_000, "ingest", 503, 1900, 0, 0)); // sent at +17.1 s
        requests.Add(new VerifyRequest(Start + 18_000, "ingest", 200, 2400, 13, 7)); // retry entries, sent at +15.6 s
        var checks = VerifyBounds.Evaluate(Pause, requests, Bounds);
        checks.Count.ShouldBe(4);
        checks.ShouldAllBe(c => c.Ok);
    }

    [Fact]
    public void an_ingest_answer_slower_than_the_bound_fails_with_its_latency()
    {
        var requests = Healthy();
        // Sent before the fault, answered during it: still in flight while the silo was sick.
        requests.Add(new VerifyRequest(Start + 14_000, "ingest", 503, 15_000, 0, 0));
        var check = Check(requests, "slowest ingest answer");
        check.Ok.ShouldBeFalse();
        check.Measured.ShouldStartWith("15,000 ms (sent +-1.0 s, 503");
        check.Limit.ShouldBe("<= 2,500 ms");
    }

    [Fact]
    public void an_answer_during_the_restart_counts_and_one_after_recovery_does_not()
    {
        var during = Healthy();
        during.Add(new VerifyRequest(Start + 54_000, "ingest", 200, 3000, 20, 0));
        Check(during, "slowest ingest answer").Ok.ShouldBeFalse();
        var after = Healthy();
        after.Add(new VerifyRequest(Start + 59_000, "ingest", 200, 3000, 20, 0)); // sent at +56 s
        Check(after, "slowest ingest answer").Ok.ShouldBeTrue();
    }

    [Fact]
    public void a_slice_without_an_accepted_ingest_fails_naming_the_slice()
    {
        // From +10 s to +15 s every answer is a 200 with only retry entries or duplicates.
        var requests = Healthy().Select(r => r.At >= Start + 10_000 && r.At < Start + 15_000 ? r with { Accepted = 0 } : r).ToList();
        var check = Check(requests, "5 s slices");
        check.Ok.ShouldBeFalse();
        check.Measured.ShouldContain("7 of 8");
        check.Measured.ShouldContain("+10-15 s (10 answered");
    }

    [Fact]
    public void retry_entries_sent_after_the_resume_bound_fail()
    {
        var requests = Healthy();
        requests.Add(new VerifyRequest(Start + 21_000, "ingest", 200, 500, 10, 10)); // sent at +20.5 s
        var check = Check(requests, "last unserved ingest");
        check.Ok.ShouldBeFalse();
        check.Measured.ShouldBe("sent +20.5 s (200 with 10 retry, 500 ms); 1 unserved of 81 sent during the fault; 41 sent from +20 s, 1 of them unserved");
    }

    [Fact]
    public void a_request_hanging_until_the_fault_ends_has_not_resumed()
    {
        // Sent at +31 s, answered 200 once the silo came back at +40 s: it succeeded, but ingest had not resumed.
        var requests = Healthy();
        requests.Add(new VerifyRequest(Start + 40_100, "ingest", 200, 9100, 4, 0));
        var check = Check(requests, "last unserved ingest");
        check.Ok.ShouldBeFalse();
        check.Measured.ShouldStartWith("sent +31.0 s (200, 9,100 ms)");
    }

    [Fact]
    public void no_request_sent_after_the_resume_bound_is_no_proof()
    {
        var requests = Healthy().Where(r => r.SentAt < Start + 20_000 || r.SentAt >= Start + 40_000).ToList();
        var check = Check(requests, "last unserved ingest");
        check.Ok.ShouldBeFalse();
        check.Measured.ShouldContain("0 sent from +20 s");
    }

    [Fact]
    public void failures_after_the_fault_ended_are_not_the_faults()
    {
        var requests = Healthy();
        requests.Add(new VerifyRequest(Start + 42_000, "ingest", 503, 500, 0, 0)); // sent at +41.5 s, after SIGCONT
        requests.Add(new VerifyRequest(Start + 30_000, "read", 503, 500, 0, 0));
        var check = Check(requests, "last unserved ingest");
        check.Ok.ShouldBeTrue();
        check.Measured.ShouldStartWith("none;");
    }

    [Fact]
    public void a_silo_declared_dead_late_or_never_fails()
    {
        Check(Healthy(), "silo port 11192").Measured.ShouldBe("after 12.0 s");
        var late = Check(Healthy(), "silo port", Pause with { DeadMs = Start + 15_600 });
        late.Ok.ShouldBeFalse();
        late.Measured.ShouldBe("after 15.6 s");
        var never = Check(Healthy(), "silo port", Pause with { DeadMs = null });
        never.Ok.ShouldBeFalse();
        never.Measured.ShouldBe("not while the fault lasted (40.0 s)");
    }

    [Fact]
    public async Task report_with_bounds_exits_1_and_names_what_was_measured()
    {
        var dir = Directory.CreateTempSubdirectory("tally-bounds-").FullName;
        try
        {
            var requests = Healthy();
            requests.Add(new VerifyRequest(Start + 9_000, "ingest", 200, 8000, 20, 0));
            File.WriteAllLines(Path.Combine(dir, "requests.csv"),
                requests.Select(r => $"{r.At},{r.Kind},{r.Status},{r.LatencyMs},{r.Accepted},{r.Retry}").Prepend(VerifyWorkload.RequestsHeader));
            File.WriteAllLines(Path.Combine(dir, "faults.log"), [$"{Start} silo 2 paused", $"{Start + 40_000} silo 2 resumed"]);
            File.WriteAllLines(Path.Combine(dir, VerifyBounds.WindowsFile), [FaultWindow.Header, $"silo 2 paused,11192,{Start},{Start + 40_000},{Start + 55_000},{Start + 12_000}"]);

            var (exit, output, _) = await CliRun.RunAsync("verify", "report", "--dir", dir, "--bounds");
            exit.ShouldBe(1);
            output.ShouldContain("FAILED silo 2 paused: slowest ingest answer, fault start to all silos active: measured 8,000 ms");
            output.ShouldContain("bound <= 2,500 ms");

            var (exitWithout, _, _) = await CliRun.RunAsync("verify", "report", "--dir", dir);
            exitWithout.ShouldBe(0);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
