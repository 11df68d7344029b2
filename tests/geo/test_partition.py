from gridops.geo.partition import split_sequence


def test_groups_respect_the_bounds_and_cover_every_item_in_order():
    weights = [30, 24, 36, 42, 30, 24, 60, 36, 30, 42, 24, 36] * 6
    result = split_sequence(weights, 100, 160)
    groups = result.groups(len(weights))
    assert [i for g in groups for i in g] == list(range(len(weights)))
    assert all(100 <= s <= 160 for s in result.sums)
    assert result.violations == 0
    assert result.sums == [sum(weights[i] for i in g) for g in groups]


def test_cheap_cuts_are_preferred_where_bounds_allow():
    weights = [50] * 12
    cost = [0.0] + [0.0 if i % 4 == 0 else 5.0 for i in range(1, 12)]  # cut only at multiples of 4
    result = split_sequence(weights, 150, 250, cut_cost=cost)
    assert result.starts == [0, 4, 8]


def test_an_impossible_bound_is_broken_as_little_as_possible_and_reported():
    result = split_sequence([550, 100, 250], 300, 500)
    assert result.violations >= 1
    assert sum(result.sums) == 900


def test_one_large_item_may_stand_alone_when_exempt():
    weights = [30, 30, 144, 30, 30]
    exempt = split_sequence(weights, 50, 80, single_item_exempt=True)
    assert [weights[i] for g in exempt.groups(5) for i in g if len(g) == 1] == [144]
    assert exempt.violations == 0
    # a single small item is not exempt: it must not be left alone below the floor
    assert split_sequence([60, 10, 60], 50, 80, single_item_exempt=True).sums != [60, 10, 60]
