using Microsoft.Extensions.Options;

namespace Tally.Grains;

/// <summary>How the silo admits and answers ingest calls. Section <c>Tally:Ingest</c>.</summary>
public sealed class IngestOptions
{
    public const string Section = "Tally:Ingest";

    /// <summary>A call that reaches the silo with less time than this before its deadline is refused whole, unwritten: it
    /// waited in a queue that long already, and a commit needs tens of milliseconds more.</summary>
    public int MinBudgetMs { get; set; } = 300;

    /// <summary>The ingest grain answers this long before the deadline, so its answer (with <c>retry</c> for users that did
    /// not answer) reaches the caller while the caller still waits.</summary>
    public int ReplyMarginMs { get; set; } = 150;

    /// <summary>While the silo's recent commits take longer than this (an average over the last second or so), new calls are
    /// refused whole before anything is written: PostgreSQL is the bottleneck and more rows only wait longer.</summary>
    public int MaxCommitLatencyMs { get; set; } = 1_000;
}

internal sealed class IngestOptionsValidator : IValidateOptions<IngestOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestOptions o)
    {
        if (o.MinBudgetMs is < 0 or > 60_000)
            return ValidateOptionsResult.Fail($"{IngestOptions.Section}:MinBudgetMs must be 0-60000, was {o.MinBudgetMs}.");
        if (o.ReplyMarginMs is < 0 or > 10_000)
            return ValidateOptionsResult.Fail($"{IngestOptions.Section}:ReplyMarginMs must be 0-10000, was {o.ReplyMarginMs}.");
        if (o.ReplyMarginMs >= o.MinBudgetMs && o.MinBudgetMs > 0)
            return ValidateOptionsResult.Fail($"{IngestOptions.Section}:ReplyMarginMs ({o.ReplyMarginMs}) must be below MinBudgetMs ({o.MinBudgetMs}): a call admitted must have time to run.");
        if (o.MaxCommitLatencyMs is < 10 or > 600_000)
            return ValidateOptionsResult.Fail($"{IngestOptions.Section}:MaxCommitLatencyMs must be 10-600000, was {o.MaxCommitLatencyMs}.");
        return ValidateOptionsResult.Success;
    }
}
