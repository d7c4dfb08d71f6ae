using System.Buffers.Binary;
using Shouldly;
using Tally.Cli.Bench;
using Xunit;

namespace Tally.Cli.Tests;

/// <summary>The soak's verdict rule, its CSV and docs section, and its chart, on made-up samples (no cluster).</summary>
public class SoakBenchTests
{
    private const double Target = 15_000;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    /// <summary>A run of healthy 10-second samples; <paramref name="change"/> alters the one starting at each time.</summary>
    private static List<SoakSample> Run(TimeSpan length, Func<SoakSample, SoakSample>? change = null)
    {
        var samples = new List<SoakSample>();
        for (var start = TimeSpan.Zero; start < length; start += Window)
        {
            var sample = new SoakSample(start, start + Window, 300, 0, (long)(Target * Window.TotalSeconds), 0, 0, 0, 0, 0, 0, 0,
                120, 340, 410, 600, 0, 0, 1.2, 4.5, 800, 140, 1_200);
            samples.Add(change is null ? sample : change(sample));
        }
        return samples;
    }

    private static SoakVerdictPart Part(IReadOnlyList<SoakVerdictPart> verdict, string startOfRule) =>
        verdict.Single(p => p.Rule.StartsWith(startOfRule, StringComparison.Ordinal));

    [Fact]
    public void a_steady_run_passes_every_part()
    {
        var verdict = SoakVerdict.Judge(Run(TimeSpan.FromMinutes(15)), Target, reads: true);
        verdict.ShouldAllBe(p => p.Passed == true);
        SoakVerdict.Passed(verdict).ShouldBeTrue();
    }

    [Fact]
    public void a_slow_sample_in_warm_up_is_forgiven_but_not_after_it()
    {
        var slowEarly = Run(TimeSpan.FromMinutes(15), x => x.Start < TimeSpan.FromSeconds(30) ? x with { IngestP99Ms = 2_000, ReadP99Ms = 900 } : x);
        SoakVerdict.Passed(SoakVerdict.Judge(slowEarly, Target, reads: true)).ShouldBeTrue();

        var slowLater = Run(TimeSpan.FromMinutes(15), x => x.Start == TimeSpan.FromMinutes(7) ? x with { IngestP99Ms = 500 } : x);
        var verdict = SoakVerdict.Judge(slowLater, Target, reads: true);
        Part(verdict, "ingest p99").Passed.ShouldBe(false);
        Part(verdict, "ingest p99").Detail.ShouldContain("7:00");
        Part(verdict, "read p99").Passed.ShouldBe(true);
        SoakVerdict.Passed(verdict).ShouldBeFalse();
    }

    [Fact]
    public void a_sample_with_no_answer_fails_its_latency()
    {
        var silent = Run(TimeSpan.FromMinutes(3), x => x.Start == TimeSpan.FromMinutes(2) ? x with { IngestP99Ms = double.NaN, Timeouts = 30 } : x);
        Part(SoakVerdict.Judge(silent, Target, reads: true), "ingest p99").Passed.ShouldBe(false);
    }

    [Fact]
    public void the_accepted_rate_is_judged_after_warm_up_against_95_percent_of_the_target()
    {
        var atNinetySix = Run(TimeSpan.FromMinutes(12), x => x with { Accepted = (long)(0.96 * x.Accepted) });
        Part(SoakVerdict.Judge(atNinetySix, Target, reads: true), "accepted").Passed.ShouldBe(true);

        var lowAfterWarmUp = Run(TimeSpan.FromMinutes(12), x => x.Start >= SoakVerdict.WarmUp ? x with { Accepted = (long)(0.94 * x.Accepted) } : x);
        Part(SoakVerdict.Judge(lowAfterWarmUp, Target, reads: true), "accepted").Passed.ShouldBe(false);
    }

    [Fact]
    public void rss_growing_more_than_15_percent_from_minutes_5_to_10_to_the_last_5_fails()
    {
        double Rss(SoakSample x, double growth) => x.Start >= TimeSpan.FromMinutes(10) ? 1_000 * (1 + growth) : 1_000;
        var within = Run(TimeSpan.FromMinutes(15), x => x with { SiloRssMb = Rss(x, 0.15) });
        Part(SoakVerdict.Judge(within, Target, reads: true), "silo RSS").Passed.ShouldBe(true);

        var grown = Run(TimeSpan.FromMinutes(15), x => x with { SiloRssMb = Rss(x, 0.16) });
        var part = Part(SoakVerdict.Judge(grown, Target, reads: true), "silo RSS");
        part.Passed.ShouldBe(false);
        part.Detail.ShouldContain("+16.0%");

        // Growth while the run's users activate (minutes 1-5) is the cluster filling up: not judged as a leak.
        var fillingUp = Run(TimeSpan.FromMinutes(15), x => x with { SiloRssMb = x.Start < TimeSpan.FromMinutes(5) ? 600 : 1_000 });
        Part(SoakVerdict.Judge(fillingUp, Target, reads: true), "silo RSS").Passed.ShouldBe(true);
    }

    [Fact]
    public void a_short_run_or_one_without_silo_figures_leaves_rss_unjudged()
    {
        Part(SoakVerdict.Judge(Run(TimeSpan.FromMinutes(14)), Target, reads: true), "silo RSS").Passed.ShouldBeNull();
        var noSilo = Run(TimeSpan.FromMinutes(15), x => x with { SiloRssMb = null });
        Part(SoakVerdict.Judge(noSilo, Target, reads: true), "silo RSS").Passed.ShouldBeNull();
        SoakVerdict.Passed(SoakVerdict.Judge(noSilo, Target, reads: true)).ShouldBeTrue();
    }

    [Fact]
    public void a_run_within_warm_up_is_not_judged_and_does_not_pass()
    {
        var verdict = SoakVerdict.Judge(Run(TimeSpan.FromSeconds(50)), Target, reads: true);
        verdict.ShouldAllBe(p => p.Passed == null);
        SoakVerdict.Passed(verdict).ShouldBeFalse();
    }

    [Theory]
    [InlineData(19.998, "0:20")]
    [InlineData(65.2, "1:05")]
    [InlineData(1799.6, "30:00")]
    public void a_sample_time_reads_as_rounded_minutes_and_seconds(double seconds, string expected) =>
        SoakVerdict.Clock(TimeSpan.FromSeconds(seconds)).ShouldBe(expected);

    [Fact]
    public void a_csv_row_has_a_value_or_an_empty_field_for_every_column()
    {
        var sample = Run(TimeSpan.FromSeconds(10))[0] with { ReadP50Ms = double.NaN, ReadP99Ms = double.NaN, PostgresMb = null };
        var fields = SoakCsv.Row(sample, Target).Split(',');
        fields.Length.ShouldBe(SoakCsv.Header.Split(',').Length);
        fields[0].ShouldBe("0");
        fields[3].ShouldBe("15000");
        fields[^1].ShouldBe("");
    }

    [Fact]
    public void the_docs_section_names_the_command_the_verdict_and_the_image()
    {
        var settings = new SoakBench.Settings(15_000, 30, 500, 100_000, 60, 64, 10, null, true);
        var samples = Run(TimeSpan.FromMinutes(30));
        var section = SoakBench.Section(settings, samples, SoakVerdict.Judge(samples, Target, reads: true), "2 cores (test CPU)", DateTimeOffset.UnixEpoch, "benchmarks/soak-15000.png");
        section.ShouldStartWith("## Soak: a held rate for 30 minutes");
        section.ShouldContain("`tally bench soak --rate 15000 --minutes 30 --batch 500 --users 100000 --reads 60 --connections 64 --sample-seconds 10 --write-docs`");
        section.ShouldContain("Verdict: **the rate held**");
        section.ShouldContain("(benchmarks/soak-15000.png)");
    }

    [Fact]
    public void the_docs_section_names_the_gc_settings_the_silo_was_started_with()
    {
        var settings = new SoakBench.Settings(2_000, 30, 500, 100_000, 60, 64, 10, null, true);
        var samples = Run(TimeSpan.FromMinutes(3));
        var environ = "PATH=/usr/bin\0DOTNET_GCGen0MaxBudget=0x800000\0DOTNET_TC_CallCountingDelayMs=0\0DOTNET_gcServer=1\0DOTNET_GCHeapCount\0";
        var gc = LocalStackProcesses.GcSettingsOf(environ).Order(StringComparer.Ordinal).ToList();
        gc.ShouldBe(["DOTNET_GCGen0MaxBudget=0x800000", "DOTNET_gcServer=1"]);

        var section = SoakBench.Section(settings, samples, SoakVerdict.Judge(samples, 2_000, reads: true), "2 cores (test CPU)", DateTimeOffset.UnixEpoch, null, gc);
        section.ShouldContain("against `deploy/local/up`, the silo started with `DOTNET_GCGen0MaxBudget=0x800000` and `DOTNET_gcServer=1`.");
        SoakBench.Section(settings, samples, SoakVerdict.Judge(samples, 2_000, reads: true), "2 cores (test CPU)", DateTimeOffset.UnixEpoch, null, [])
            .ShouldContain("against `deploy/local/up`.  ");
    }

    [Fact]
    public void the_chart_is_a_png_of_1200_by_900()
    {
        var path = Path.Combine(Path.GetTempPath(), $"soak-{Guid.NewGuid():N}.png");
        try
        {
            SoakChart.Save(path, Run(TimeSpan.FromMinutes(3), x => x with { ReadP99Ms = double.NaN }), Target, "test");
            var bytes = File.ReadAllBytes(path);
            bytes[..8].ShouldBe(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A });
            BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)).ShouldBe(SoakChart.WidthPx);
            BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)).ShouldBe(SoakChart.HeightPx);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
