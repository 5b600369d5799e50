import Compiler
import Foundation
import Testing
import Topology

/// The people's days at work: drawn from the environment and the person, the same for the same
/// file, different for each person, inside the workday, and naming only what the company has.
@Suite struct WorkPlanTests {
    static let company = (try? String(contentsOfFile: projectRoot + "/topologies/company.yaml", encoding: .utf8)) ?? ""
    static let atWork = company + "\nactivity: { workday: \"08:30-17:30\", timezone: Asia/Tokyo, speed: 60 }\n"

    static func plans(_ source: String) throws -> [String: WorkPlan] {
        let environment = try #require(lower(source))
        var plans: [String: WorkPlan] = [:]
        for host in environment.hosts { if let plan = WorkPlan.plan(for: host, in: environment) { plans[host.name] = plan } }
        return plans
    }

    @Test func theSameFileMakesTheSameDaysAndEachPersonHasTheirOwn() throws {
        let plans = try Self.plans(Self.atWork)
        #expect(plans.keys.sorted() == ["ws-01", "ws-02", "ws-03"], "only the owned workstations work")
        #expect(try Self.plans(Self.atWork) == plans)
        let schedules = plans.values.map(\.schedule)
        #expect(Set(schedules.map { $0.map(WorkPlan.line) }).count == 3, "three people, three different plans")
        // Another company of the same shape keeps other hours.
        let other = try Self.plans(Self.atWork.replacingOccurrences(of: "name: company\n", with: "name: company-b\n"))
        #expect(other["ws-01"]?.schedule != plans["ws-01"]?.schedule)
        #expect(try #require(lower(Self.company)).activity == nil)
        #expect(try Self.plans(Self.company).isEmpty, "without activity nobody works")
    }

    @Test func daysAreWorkdaysWithArrivalLunchAndLeaving() throws {
        let plans = try Self.plans(Self.atWork)
        let (start, end) = (8 * 60 + 30, 17 * 60 + 30)
        var absent = 0
        for (host, plan) in plans {
            #expect(plan.schedule.count == WorkPlan.days)
            for (day, items) in plan.schedule.enumerated() {
                if day % 7 >= 5 {
                    #expect(items.isEmpty, "\(host) works on day \(day), a weekend")
                    continue
                }
                if items.isEmpty { absent += 1; continue }
                #expect(items.map(\.minute) == items.map(\.minute).sorted(), "\(host) day \(day) in order")
                #expect((start - 20 ... start + 25).contains(items[0].minute) && items[0].event == .logon, "\(host) day \(day) arrives and logs on")
                #expect((end - 30 ... end + 50).contains(items.last!.minute) && items.last!.event == .leave, "\(host) day \(day) leaves")
                let lunch = try #require(items.firstIndex { $0.event == .lunch }, "\(host) day \(day) has lunch")
                #expect(items[lunch + 1].event == .logon && (40 ... 65).contains(items[lunch + 1].minute - items[lunch].minute))
                #expect(items.count >= 8, "\(host) day \(day) does some work: \(WorkPlan.line(items))")
                for item in items {
                    switch item.event {
                    case let .mail(index): #expect(plan.colleagues.indices.contains(index))
                    case let .document(index): #expect(plan.documents.indices.contains(index))
                    case let .browse(index): #expect(plan.sites.indices.contains(index))
                    default: break
                    }
                }
            }
        }
        // One day in 25 or so: of 3 x 65 workdays, a few, not many.
        #expect((1 ... 20).contains(absent), "\(absent) days off")
    }

    @Test func aPlanNamesTheCompanysOwnServicesColleaguesAndDocuments() throws {
        let environment = try #require(lower(Self.atWork))
        let host = try #require(environment.hosts.first { $0.name == "ws-01" })
        let plan = try #require(WorkPlan.plan(for: host, in: environment))
        let owner = try #require(host.owner)
        #expect(plan.person == owner.user)
        #expect(plan.directory == "dc01.corp.harbor.example" && plan.realm == "CORP.HARBOR.EXAMPLE")
        #expect(plan.fileServer == "files.corp.harbor.example" && plan.mailServer == "mail.corp.harbor.example")
        #expect(plan.proxy == nil, "the company has no proxy: its people browse directly")
        #expect(plan.sites == ["http://www.corp.harbor.example/", "http://www.corp.harbor.example/staff.html"])
        #expect(!plan.colleagues.contains(owner.user) && plan.colleagues.count == 5, "everyone else of six")
        #expect(Set(plan.colleagues).isSubset(of: environment.people.map(\.user)))
        // Each document is a file the file server's seed writes: the owner's home, their department's share.
        let files = try #require(environment.hosts.first { $0.name == "files" })
        let written = Set(SeedRenderer.contents(files, in: environment).files.map(\.path))
        #expect(plan.documents.count >= 3)
        for document in plan.documents {
            let parts = document.split(separator: "/", maxSplits: 1).map(String.init)
            let path = parts[0] == owner.user ? "/home/\(document)" : "/srv/shares/\(document)"
            #expect(written.contains(path), "\(document) is not on the file server")
        }
    }

    @Test func theWorkstationsSeedCarriesThePlanAndTheServersNone() throws {
        let environment = try #require(lower(Self.atWork))
        #expect(environment.activity?.workdayStart == 8 * 60 + 30 && environment.activity?.timezone == "Asia/Tokyo" && environment.activity?.speed == 60)
        for host in environment.hosts {
            let seed = SeedRenderer.render(host, in: environment)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(seed.agentData.utf8)) as? [String: Any])
            guard host.owner != nil else {
                #expect(object["activity"] is NSNull, "\(host.name) has no owner to work")
                continue
            }
            let activity = try #require(object["activity"] as? [String: Any], "\(host.name)")
            #expect(activity["person"] as? String == host.owner?.user)
            #expect(activity["timezone"] as? String == "Asia/Tokyo" && activity["speed"] as? Int == 60 && activity["workday"] as? String == "08:30-17:30")
            #expect(activity["epoch"] as? String == WorkPlan.epoch)
            let days = try #require(activity["days"] as? [String])
            #expect(days == WorkPlan.plan(for: host, in: environment)?.schedule.map(WorkPlan.line))
            #expect(days[5].isEmpty && days[6].isEmpty, "day 0 is a Monday: days 5 and 6 are a weekend")
        }
    }
}
