"""Teams and users: membership, contact methods, notification rules and user-level tokens."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runner.sandbox.licenses import Licensing
from runner.sandbox.objects import Obj, object_id, reference, secret, timestamp
from runner.sandbox.roles import ROLES
from runner.sandbox.store import refresh

CONTACT_METHOD_TYPES = {
    "email": "email_contact_method",
    "phone": "phone_contact_method",
    "sms": "sms_contact_method",
    "push": "push_notification_contact_method",
}
PAGING_CONTACT_METHODS = ("email", "phone", "push")
USER_FIELDS = ("name", "email", "role", "time_zone", "color", "description", "job_title")


class People(Licensing):
    """The teams and users of an account."""

    def add_team(self, name: str, *, description: str = "", id: str | None = None) -> Obj:
        """Create a team."""
        team = self._new("team", name, id)
        team.update(name=name, description=description, default_role="manager")
        self.team_members[team["id"]] = []
        return self._created(self.teams, team)

    def add_user(
        self,
        name: str,
        email: str,
        *,
        teams: Iterable[Obj | str] = (),
        role: str = "user",
        contact_methods: Iterable[str] = PAGING_CONTACT_METHODS,
        notification_urgencies: Iterable[str] = ("high", "low"),
        invited: bool = False,
        id: str | None = None,
    ) -> Obj:
        """Create a user of `role`, a responder on `teams`, reachable through `contact_methods`.

        Each contact method (`email`, `phone`, `sms`, `push`) gets an immediate
        notification rule for each of `notification_urgencies`. `invited`: the
        user has not accepted their invitation yet.
        """
        if self.user_by_email(email) is not None:
            raise ValueError(f"a user with email {email!r} already exists")
        _check_role(role)
        user = self._new("user", name, id)
        user.update(
            name=name,
            email=email,
            time_zone="Etc/UTC",
            color="purple",
            role=role,
            avatar_url=f"{self.html_base}/avatars/{user['id']}.png",
            description=None,
            invitation_sent=invited,
            created_via_sso=False,
            job_title="",
            teams=[],
            contact_methods=[],
            notification_rules=[],
        )
        self._created(self.users, user)
        self._index["email"][email.casefold()] = user["id"]
        self._license(user)
        for team in teams:
            self.add_team_member(team, user)
        for kind in contact_methods:
            method = self.add_contact_method(user, kind)
            for urgency in notification_urgencies:
                self.add_notification_rule(user, method, urgency=urgency)
        return user

    def update_user(self, user: Obj | str, changes: Mapping[str, Any]) -> Obj:
        """Change a user's name, email, role, time zone, color, description or job title."""
        user = self._get(self.users, user)
        unknown = set(changes) - set(USER_FIELDS)
        if unknown:
            raise ValueError(f"cannot change a user's {sorted(unknown)[0]}")
        if "role" in changes:
            _check_role(changes["role"])
            if user["role"] == "owner" and changes["role"] != "owner":
                raise ValueError("The account owner's role cannot be changed.")
        email = changes.get("email", user["email"])
        if email.casefold() != user["email"].casefold() and self.user_by_email(email) is not None:
            raise ValueError("Email has already been taken.")
        del self._index["email"][user["email"].casefold()]
        self._index["email"][email.casefold()] = user["id"]
        role = user["role"]
        self._changed(user, {**changes, "summary": changes.get("name", user["name"])})
        if user["role"] != role:
            self._unlicense(user)
            self._license(user)
        for members in self.team_members.values():
            refresh([member["user"] for member in members], user)
        return user

    def delete_user(self, user: Obj | str) -> None:
        """Remove a user from the account: their teams, rotations and policies lose them.

        PagerDuty refuses to delete the owner, a user with open incidents, and
        the last target of an escalation rule.
        """
        user = self._get(self.users, user)
        if user["role"] == "owner":
            raise ValueError("The account owner cannot be deleted.")
        if any(
            a["assignee"]["id"] == user["id"] for i in self.incidents.values() if i["status"] != "resolved"
            for a in i["assignments"]
        ):
            raise ValueError("The user has open incidents assigned.")
        rules = [rule for policy in self.escalation_policies.values() for rule in policy["escalation_rules"]]
        if any([t["id"] for t in rule["targets"]] == [user["id"]] for rule in rules):
            raise ValueError("The user is the only target of an escalation rule.")
        for rule in rules:
            rule["targets"] = [target for target in rule["targets"] if target["id"] != user["id"]]
        for team in list(user["teams"]):
            self.remove_team_member(team["id"], user)
        for schedule in self.schedules.values():
            schedule["users"] = [ref for ref in schedule["users"] if ref["id"] != user["id"]]
            for layer in schedule["schedule_layers"]:
                layer["users"] = [entry for entry in layer["users"] if entry["user"]["id"] != user["id"]]
        for method in list(user["contact_methods"]):
            self.delete_contact_method(user, method["id"])
        for token in [token for token, owner in self.user_tokens.items() if owner == user["id"]]:
            del self.user_tokens[token]
        self._unlicense(user)
        del self._index["email"][user["email"].casefold()]
        del self.users[user["id"]]
        self._audit(user, "delete")

    def add_contact_method(
        self, user: Obj | str, kind: str, *, address: str | None = None, label: str | None = None
    ) -> Obj:
        """Give `user` a contact method: `email`, `phone`, `sms` or `push`."""
        user = self._get(self.users, user)
        if kind not in CONTACT_METHOD_TYPES:
            raise ValueError(f"unknown contact method {kind!r} (known: {', '.join(CONTACT_METHOD_TYPES)})")
        number = self._next("contact_method")
        label = label or {"email": "Work", "push": "Phone app"}.get(kind, "Mobile")
        method = self._nested(user, "contact_method", number, CONTACT_METHOD_TYPES[kind], label)
        method.update(label=label, address=address or _address(kind, user, number))
        if kind in ("phone", "sms"):
            method.update(country_code=1, enabled=True, blacklisted=False)
        elif kind == "push":
            method.update(device_type="ios", created_at=timestamp(self.now), blacklisted=False)
        else:
            method.update(send_short_email=False, enabled=True)
        self.contact_methods[method["id"]] = method
        user["contact_methods"].append(reference(method))
        return method

    def update_contact_method(self, method: Obj | str, *, label: str | None = None, address: str | None = None) -> Obj:
        """Change a contact method's label or address."""
        method = self._get(self.contact_methods, method)
        method.update({key: value for key, value in (("label", label), ("address", address)) if value is not None})
        method["summary"] = method["label"]
        user = self.users[_owner_id(method)]
        refresh(user["contact_methods"], method)
        return method

    def delete_contact_method(self, user: Obj | str, method: Obj | str) -> None:
        """Delete a contact method of `user`, and the notification rules that use it."""
        user, method = self._get(self.users, user), self._get(self.contact_methods, method)
        if _owner_id(method) != user["id"]:
            raise KeyError(f"no such object: {method['id']!r}")
        for rule in [self.notification_rules[r["id"]] for r in user["notification_rules"]]:
            if rule["contact_method"]["id"] == method["id"]:
                self.delete_notification_rule(user, rule)
        user["contact_methods"] = [ref for ref in user["contact_methods"] if ref["id"] != method["id"]]
        del self.contact_methods[method["id"]]

    def add_notification_rule(
        self, user: Obj | str, contact_method: Obj | str, *, urgency: str = "high", start_delay_in_minutes: int = 0
    ) -> Obj:
        """Notify `user` through `contact_method` about incidents of `urgency`, after a delay."""
        user, method = self._get(self.users, user), self._get(self.contact_methods, contact_method)
        if urgency not in ("high", "low"):
            raise ValueError(f"a notification rule's urgency is high or low, not {urgency!r}")
        if _owner_id(method) != user["id"]:
            raise ValueError("the contact method is another user's")
        summary = f"{start_delay_in_minutes} minutes: channel {method['id']}"
        number = self._next("notification_rule")
        rule = self._nested(user, "notification_rule", number, "assignment_notification_rule", summary)
        rule.update(
            start_delay_in_minutes=start_delay_in_minutes,
            contact_method=reference(method),
            created_at=timestamp(self.now),
            urgency=urgency,
        )
        self.notification_rules[rule["id"]] = rule
        user["notification_rules"].append(reference(rule))
        return rule

    def delete_notification_rule(self, user: Obj | str, rule: Obj | str) -> None:
        """Delete one of `user`'s notification rules."""
        user, rule = self._get(self.users, user), self._get(self.notification_rules, rule)
        if _owner_id(rule) != user["id"]:
            raise KeyError(f"no such object: {rule['id']!r}")
        user["notification_rules"] = [ref for ref in user["notification_rules"] if ref["id"] != rule["id"]]
        del self.notification_rules[rule["id"]]

    def add_team_member(self, team: Obj | str, user: Obj | str, *, role: str = "responder") -> Obj:
        """Put `user` on `team` with a team `role`, or change their role there."""
        team, user = self._get(self.teams, team), self._get(self.users, user)
        members = self.team_members[team["id"]]
        for member in members:
            if member["user"]["id"] == user["id"]:
                member["role"] = role
                return member
        member = {"user": reference(user), "role": role}
        members.append(member)
        user["teams"].append(reference(team))
        return member

    def remove_team_member(self, team: Obj | str, user: Obj | str) -> None:
        """Take `user` off `team`; raise KeyError if they are not on it."""
        team, user = self._get(self.teams, team), self._get(self.users, user)
        members = self.team_members[team["id"]]
        if not any(member["user"]["id"] == user["id"] for member in members):
            raise KeyError(f"{user['id']!r} is not on {team['id']!r}")
        self.team_members[team["id"]] = [member for member in members if member["user"]["id"] != user["id"]]
        self._changed(user, {"teams": [ref for ref in user["teams"] if ref["id"] != team["id"]]})

    def managed_teams(self, user: Obj | str) -> set[str]:
        """Return the ids of the teams `user` has the manager role on."""
        user_id = self._get(self.users, user)["id"]
        return {
            team_id
            for team_id, members in self.team_members.items()
            if any(m["user"]["id"] == user_id and m["role"] == "manager" for m in members)
        }

    def add_user_token(self, token: str, user: Obj | str) -> None:
        """Let `token` authenticate as a user-level API key of `user`."""
        self.user_tokens[token] = self._get(self.users, user)["id"]

    def user_by_email(self, email: str) -> Obj | None:
        """Return the user whose email is `email` (case-insensitive), if any."""
        return self._lookup("email", email.casefold(), self.users)

    def _nested(self, user: Obj, kind: str, number: int, type_: str, summary: str) -> Obj:
        nested_id = object_id(kind, number)
        return {
            "id": nested_id,
            "type": type_,
            "summary": summary,
            "self": f"{user['self']}/{kind}s/{nested_id}",
            "html_url": None,
        }


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (known: {', '.join(ROLES)})")


def _owner_id(nested: Obj) -> str:
    """Return the id of the user a contact method or notification rule belongs to (from its `self` link)."""
    return nested["self"].split("/users/")[1].split("/")[0]


def _address(kind: str, user: Obj, number: int) -> str:
    if kind == "email":
        return user["email"]
    if kind == "push":
        return secret("device", user["id"], str(number))
    return f"555{number:07d}"
