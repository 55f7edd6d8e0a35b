using Hive.Features.Work;

namespace Hive.Tests.Features.Work;

/// <summary>The workflow file's strict reading: the shipped file parses; every refusal names its line and reason.</summary>
public sealed class WorkflowParserTests
{
    [Fact]
    public void The_shipped_workflow_has_its_five_columns_and_a_blocked_side_state()
    {
        var workflow = WorkflowCatalog.ShippedFiles()["software_development.yaml"] is var yaml ? WorkflowParser.Parse("software_development", yaml) : null!;
        Assert.Equal(["backlog", "design", "implement", "review", "done", "blocked"], workflow.Phases.Select(p => p.Name));
        Assert.True(workflow.SidePhase is { Name: "blocked" });
        Assert.Equal("review", workflow.Find("review")!.ReviewedBy);
        Assert.Equal("design", workflow.NextAfter(workflow.Initial)!.Name);
    }

    [Theory]
    [InlineData("name: w\nphases:\n  - name: a\n    allowed_transitions: [b\n  - name: b\n", 4, "does not parse")]
    [InlineData("name: w\nphases:\n  - name: a\n    allowed_transitions: [c]\n  - name: b\n    terminal: true\n", 4, "'c', which is not a phase")]
    [InlineData("name: w\nphases:\n  - name: a\n    allowed_transitions: [b]\n    colour: red\n  - name: b\n    terminal: true\n", 5, "unknown key 'colour'")]
    [InlineData("name: w\nphases:\n  - name: a\n    allowed_transitions: [b]\n  - name: b\n", 5, "no allowed_transitions")]
    [InlineData("name: other\nphases:\n  - name: b\n    terminal: true\n", 1, "they must agree")]
    [InlineData("name: w\nphases:\n  - name: a\n    allowed_transitions: [b]\n    expected_outputs:\n      - kind: branch\n  - name: b\n    terminal: true\n", 6, "names no repository")]
    [InlineData("name: w\nphases:\n  - name: a\n    allowed_transitions: [b]\n    expected_outputs:\n      - kind: file\n        path: ../etc/passwd\n  - name: b\n    terminal: true\n", 7, "plain relative path")]
    public void A_bad_file_is_refused_with_its_line(string yaml, long line, string reason)
    {
        var refused = Assert.Throws<WorkflowException>(() => WorkflowParser.Parse("w", yaml));
        Assert.Equal(line, refused.Line);
        Assert.Contains(reason, refused.Reason);
    }
}
