namespace Tally.Contracts;

public enum EventStatus : byte
{
    Accepted = 1,
    Duplicate = 2,
}

/// <summary>
/// Outcome of recording events. When <see cref="Durable"/> is false nothing in the call was
/// acknowledged (the event log could not commit) and <see cref="Statuses"/> is empty.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RecordResult(
    [property: Id(0)] bool Durable,
    [property: Id(1)] EventStatus[] Statuses,
    [property: Id(2)] string? Error)
{
    public static RecordResult NotDurable(string error) => new(false, [], error);
}
