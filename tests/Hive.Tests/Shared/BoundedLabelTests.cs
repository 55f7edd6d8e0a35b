using Hive.Shared.Metrics;

namespace Hive.Tests.Shared;

/// <summary>BoundedLabel: a value an agent reports becomes a label only while the set of them stays small.</summary>
public sealed class BoundedLabelTests
{
    [Fact]
    public void Keeps_the_first_names_and_calls_the_rest_other()
    {
        var label = new BoundedLabel(max: 2);
        Assert.Equal("claude-sonnet-4-5", label.Of("claude-sonnet-4-5"));
        Assert.Equal("gpt-4.1", label.Of("gpt-4.1"));
        Assert.Equal(BoundedLabel.Other, label.Of("claude-haiku-4-5")); // a third name
        Assert.Equal("claude-sonnet-4-5", label.Of("claude-sonnet-4-5")); // one already seen stays itself
    }

    [Theory]
    [InlineData("model with spaces")]
    [InlineData("quote\"in")]
    [InlineData("brace}in")]
    [InlineData("-leading-dash")]
    [InlineData("é-model")]
    public void Calls_a_malformed_value_other_without_using_up_a_place(string value)
    {
        var label = new BoundedLabel(max: 1);
        Assert.Equal(BoundedLabel.Other, label.Of(value));
        Assert.Equal("org/model:tag@v1_2", label.Of("org/model:tag@v1_2"));
    }

    [Fact]
    public void Calls_a_missing_value_none_and_a_long_one_other()
    {
        var label = new BoundedLabel();
        Assert.Equal(BoundedLabel.None, label.Of(null));
        Assert.Equal(BoundedLabel.None, label.Of(""));
        Assert.Equal(BoundedLabel.Other, label.Of(new string('a', BoundedLabel.MaxLength + 1)));
        Assert.Equal(new string('a', BoundedLabel.MaxLength), label.Of(new string('a', BoundedLabel.MaxLength)));
    }
}
