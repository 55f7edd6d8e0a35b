using System.Text.Json.Serialization;

namespace Hive.Contracts.Questions;

/// <summary>
/// <c>question_added</c> and <c>question_resolved</c>: the question's own fields, then the asker's waiting state after the
/// change and both parties' open questions, so the swarm rows (waiting, loose ends) follow without a refetch. Derived
/// from the view, so a field added to a question reaches these events with nothing else to edit; the order puts the
/// additions after the question's fields.
/// </summary>
public sealed record QuestionChangedPayload : QuestionView
{
    public QuestionChangedPayload(QuestionView question, WaitingState asker, OpenQuestions open) : base(question)
    {
        WaitingOn = asker.WaitingOn;
        WaitingSince = asker.WaitingSince;
        AskerOpenQuestions = open.Asker;
        TargetOpenQuestions = open.Target;
    }

    [JsonPropertyOrder(1)] public string? WaitingOn { get; }
    [JsonPropertyOrder(1)] public DateTimeOffset? WaitingSince { get; }
    [JsonPropertyOrder(1)] public long AskerOpenQuestions { get; }
    [JsonPropertyOrder(1)] public long? TargetOpenQuestions { get; }
}
