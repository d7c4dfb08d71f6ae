namespace Tally.Grains;

/// <summary>What a user grain persists: its stats in the domain's compact binary form.
/// The replay watermark (last applied event id) is inside the stats.</summary>
[GenerateSerializer]
internal sealed class UserGrainState
{
    [Id(0)] public byte[] Stats { get; set; } = [];
}
